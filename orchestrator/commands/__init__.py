"""The subcommands of `winterdays`, one module per area; each has `register(subparsers)`.

Add a module here and list it in COMMAND_MODULES to add commands.
"""

COMMAND_MODULES = ("generate", "runs", "serve", "demo", "dataform", "mlops", "looker")
