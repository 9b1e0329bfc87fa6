import Inspection
import ServiceKit

await ServiceApp.main(InspectionService.self)
