"""The core's check plugins (objects, secrets, schema, analysis): built-in `gwpipe_check` implementations."""
