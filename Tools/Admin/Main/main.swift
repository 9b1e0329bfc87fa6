import AdminCommands

await Admin.run(arguments: nil)
