import FlyvisConfig
import FlyvisNetwork
import FlyvisTask
import FlyvisTraining
import Foundation
import Testing

@testable import FlyvisSolver

/// Names that select an implementation are checked against the enums that implement them, so
/// the allowed values an error lists are exactly the cases that exist, and the check runs
/// before any results directory is made.
@Suite struct ConfigChoiceTests {
    static let base = ["task_name=flow", "ensemble_and_network_id=0001/000"]

    func message(_ overrides: [String], root: URL? = nil) -> String {
        do {
            if let root {
                _ = try MultiTaskSolver.resolveConfig(overrides: Self.base + overrides, root: root)
            } else {
                _ = try Build.loadConfig(overrides: Self.base + overrides)
            }
            return ""
        } catch { return "\(error)" }
    }

    func listsAll(_ text: String, _ names: [String]) -> Bool { !names.isEmpty && names.allSatisfy(text.contains) }

    @Test func errorsListTheEnumsCases() {
        let schedule = message(["scheduler.lr_net.function=cosine"])
        #expect(
            schedule.contains("scheduler.lr_net.function") && listsAll(schedule, ScheduleFunction.allCases.map(\.rawValue)), "\(schedule)")
        let inverse = message(["scheduler.lr_net.function=steponential_inv"])
        #expect(inverse.contains("divides by zero"), "\(inverse)")
        let loss = message(["task.loss.flow=mse"])
        #expect(loss.contains("task.loss.flow") && listsAll(loss, Objective.allCases.map(\.rawValue)), "\(loss)")
        let activation = message(["network.dynamics.activation.type=gelu"])
        #expect(
            activation.contains("network.dynamics.activation.type") && listsAll(activation, Activation.Name.allCases.map(\.rawValue)),
            "\(activation)")
        let target = message(["++scheduler.momentum=0.9"])
        #expect(target.contains("scheduler.momentum") && listsAll(target, ScheduleTarget.allCases.map(\.rawValue)), "\(target)")
        #expect(message(["network.dynamics.activation.type=leakyrelu", "scheduler.lr_net.function=exponential"]) == "")
    }

    @Test func misspeltPenaltyParameterNamesTheParameters() throws {
        let config = try Build.loadConfig(overrides: Self.base + ["++network.node_config.biass.penalize.activity=true"])
        let connectome = try Build.connectome(try Build.loadConfig(overrides: Self.base + ["network.connectome.extent=2"]))
        let parameters = try NetworkParameters(connectome: connectome)
        #expect {
            _ = try Build.penalizer(config, parameters: parameters)
        } throws: { error in
            let text = "\(error)"
            return text.contains("network.node_config.biass") && text.contains("bias") && text.contains("time_const")
        }
        #expect(throws: ParameterError.unknownParameter("nodes_biass")) { _ = try ParameterName(checking: "nodes_biass") }
        #expect("\(ParameterError.unknownParameter("x"))".contains(ParameterName.names.joined(separator: ", ")))
    }

    @Test func choicesAreCheckedBeforeAnyDirectoryExists() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("flyvis-choices-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(message(["task.loss.flow=mse", "resume=true"], root: root).contains("task.loss.flow"))
        #expect(!FileManager.default.fileExists(atPath: root.path))
    }
}
