"""The access permission matrix: every route × role × relation to the object (tests/test_access_matrix.py)."""
