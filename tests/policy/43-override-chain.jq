# append then replace (only the last object counts), replace then append
# (the replacement grows), and lists/targets redefined by later files: the
# rule of the first file uses the LAST definition of its lists; an unused
# redefined target is reported where its live definition is.
.valid,
.files,
.diagnostics,
(.rules[] | [.name, .file, .line, .min_duration_ns, .syscalls, .targets, .paths, .tags]),
.targets,
.lists
