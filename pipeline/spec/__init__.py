"""Environment specs: safe YAML loading, `extends`, and validation against the merged schema."""
