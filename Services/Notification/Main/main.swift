import Notification
import ServiceKit

await ServiceApp.main(NotificationService.self)
