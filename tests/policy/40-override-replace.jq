# A same-named rule of a later file replaces the earlier one wholesale (none
# of the earlier keys survive: defaults come back) and keeps its place in
# the load order; "override": "replace" is the same as no override; a
# target of a later file replaces the earlier one of the same name.
.valid,
.files,
.diagnostics,
(.rules[] | [.name, .file, .line, .enabled, .severity, .min_duration_ns, .targets, .paths, .result, .tags, .rate_limit]),
(.rules[] | select(.name == "y" or .name == "z") | [.name, .syscalls]),
(.rules[0].syscalls > 300),
.targets
