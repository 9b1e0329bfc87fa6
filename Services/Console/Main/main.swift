import Console
import ServiceKit

await ServiceApp.main(ConsoleService.self)
