"""Site topology: the writable fields of a site, file import/export, and built-in topologies."""
