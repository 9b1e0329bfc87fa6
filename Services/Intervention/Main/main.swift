import Intervention
import ServiceKit

await ServiceApp.main(InterventionService.self)
