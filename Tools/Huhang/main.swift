import AdminCommands
import Assessment
import Console
import Foundation
import Inspection
import Intake
import Intervention
import Notification
import ServiceKit

// The image's one executable. It runs as the program whose name it was started under — the image links
// `intake`, `assessment`, `intervention`, `inspection`, `notification`, `console` and `huhang-admin` to it — or as
// the one named by its first argument (`huhang intake`). One executable carries the Swift runtime, Foundation and
// the packages once instead of seven times; each process still pages in only what it runs.

var arguments = Array(CommandLine.arguments.dropFirst())
var program = URL(fileURLWithPath: CommandLine.arguments.first ?? "huhang").lastPathComponent
if program == "huhang", let first = arguments.first {
    program = first
    arguments.removeFirst()
}

switch program {
case "intake": await ServiceApp.main(IntakeService.self)
case "assessment": await ServiceApp.main(AssessmentService.self)
case "intervention": await ServiceApp.main(InterventionService.self)
case "inspection": await ServiceApp.main(InspectionService.self)
case "notification": await ServiceApp.main(NotificationService.self)
case "console": await ServiceApp.main(ConsoleService.self)
case "huhang-admin", "admin": await Admin.run(arguments: arguments)
default:
    FileHandle.standardError.write(Data("""
        usage: huhang intake|assessment|intervention|inspection|notification|console|admin [arguments]
           or: run it under one of those names (the image links each to it)

        """.utf8))
    exit(2)
}
