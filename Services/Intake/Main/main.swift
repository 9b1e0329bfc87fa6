import Intake
import ServiceKit

await ServiceApp.main(IntakeService.self)
