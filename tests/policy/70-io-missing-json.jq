# --json with a file that cannot be read: invalid, the file counted with one
# error, and its diagnostic at line 0, column 0 (no position: the whole
# file); the same one line is on stderr.
.valid,
.files[],
.diagnostics[]
