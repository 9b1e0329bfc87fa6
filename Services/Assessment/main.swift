import ServiceKit

await ServiceApp.main(AssessmentService.self)
