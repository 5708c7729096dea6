"""The built-in plugins' import logic (`gwpipe_import`), one module per plugin, kept out of the render path."""
