"""Access and governance: the audit log (and, next, roles, grants, masking, row policies)."""
