import Foundation
import Testing

/// The deployment files checked without a cluster (none can run here): `scripts/validate-kubernetes` reads
/// `deploy/kubernetes` against the Kubernetes API's schemas and the operators' CRD schemas kept beside it.
@Suite("Deployment manifests")
struct DeploymentManifestTests {
    @Test("deploy/kubernetes validates offline against Kubernetes and the operators' CRDs; a copy with a misspelt field, a wrong type, a bad value and a file the kustomization does not name does not")
    func kubernetesManifests() throws {
        let root = ConsoleBrowserTests.root
        let python = root.appendingPathComponent(".dev/venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record(".dev/venv is missing: scripts/test installs kubernetes-validate")
            return
        }
        let (status, output) = try runPython(python, script: "scripts/validate-kubernetes", environment: [:])
        #expect(status == 0 && output.contains("; 0 problems"), "\(output)")
        #expect(["RabbitmqCluster huhang-broker", "Cluster huhang-db", "ScaledObject notification", "PodDisruptionBudget console",
                 "Deployment intake"].allSatisfy { output.contains("ok   ") && output.contains($0) }, "\(output)")

        // A broken copy: each mistake is named.
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("k8s-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: root.appendingPathComponent("deploy/kubernetes"), to: broken)
        defer { try? FileManager.default.removeItem(at: broken) }
        func change(_ file: String, _ from: String, _ to: String) throws {
            let url = broken.appendingPathComponent(file)
            let text = try String(contentsOf: url, encoding: .utf8)
            #expect(text.contains(from), "\(file) has no \(from)")
            try text.replacingOccurrences(of: from, with: to).write(to: url, atomically: true, encoding: .utf8)
        }
        try change("intake.yaml", "  replicas: 2", "  replicaz: 2")
        try change("database.yaml", "  instances: 2", "  instances: two")
        try change("broker.yaml", "    additionalConfig: |", "    additionalConfigs: |")
        try change("assessment.yaml", "  minReplicaCount: 2", "  minReplicaCount: -1")
        try "kind: ConfigMap\n".write(to: broken.appendingPathComponent("stray.yaml"), atomically: true, encoding: .utf8)
        let (refused, report) = try runPython(python, script: "scripts/validate-kubernetes", arguments: [broken.path], environment: [:])
        #expect(refused == 1, "\(report)")
        #expect(report.contains("'replicaz' was unexpected") && report.contains("'two' is not of type 'integer'")
                && report.contains(".spec.rabbitmq.additionalConfigs: not a field of RabbitmqCluster") && report.contains("-1 is less than the minimum of 0")
                && report.contains("stray.yaml is not named in kustomization.yaml"), "\(report)")
    }
}
