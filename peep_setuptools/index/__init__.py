"""The only network code: index settings, HTTP, index pages, file choice, downloads."""
