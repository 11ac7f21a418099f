"""The write-ahead log: every acknowledged update is here before it touches a segment."""
