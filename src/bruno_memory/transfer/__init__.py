"""Export, import and copy of a whole store."""
