# "override": "append" over three files: arrays (targets, syscalls, paths,
# result, tags) grow in load order, scalars given replace, file and line
# stay those of the defining object; min_duration may be left out.
.valid,
.files,
.diagnostics,
(.rules[] | [.name, .file, .line, .enabled, .severity, .min_duration_ns, .syscalls]),
(.rules[] | [.targets, .paths, .result, .tags, .rate_limit]),
.targets
