# The compiled form of 02-full.json: every rule in load order with its
# defaults filled in. Syscall counts of classes and `all` depend on the
# syscall table, so they are compared with each other, not pinned.
.valid,
.files,
.diagnostics,
.targets,
.lists,
(.rules | length),
(.rules[] | del(.syscalls)),
(.rules[0].syscalls > 7),
([.rules[] | select(.name == "Disabled_rule.v2:x" or .name == "sev-error") | .syscalls] | (.[0] == .[1] and .[0] > 300)),
(.rules[2].syscalls < .rules[4].syscalls)
