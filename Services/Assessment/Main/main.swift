import Assessment
import ServiceKit

await ServiceApp.main(AssessmentService.self)
