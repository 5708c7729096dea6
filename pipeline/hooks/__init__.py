"""The plugin API: hook specifications, the plugin manager and how hooks are called."""
