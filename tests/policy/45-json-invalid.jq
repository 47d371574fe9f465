# The JSON document of an invalid policy: its keys, one files[] entry per
# FILE in command-line order, every diagnostic with its six fields in the
# order of the text output, and no rules, targets or lists (nothing built).
keys,
.valid,
.files[],
(.diagnostics[] | keys),
.diagnostics[],
.rules,
.targets,
.lists
