import Foundation
import MLBuildBasics

/// Threads of a work budget held idle while a library's own threads (libzstd's workers) use
/// their cores, so that `-j N` still bounds the cores a build uses: `granted` threads, at most
/// the number asked for, and only those free now (0 when none is). `release()` lets them go;
/// it is safe to call more than once.
final class BudgetReservation: Sendable {
    let granted: Int
    private let gate: Gate

    init(budget: WorkBudget, extra: Int) {
        let gate = Gate()
        self.gate = gate
        granted = extra > 0 ? budget.startHelpers(atMost: extra) { _ in gate.wait() } : 0
    }

    func release() { gate.open() }

    /// A one-way gate: `wait()` returns once `open()` was called.
    private final class Gate: @unchecked Sendable {
        /// Guards `isOpen`.
        private let condition = NSCondition()
        private var isOpen = false

        func wait() {
            condition.lock()
            while !isOpen { condition.wait() }
            condition.unlock()
        }

        func open() {
            condition.lock()
            isOpen = true
            condition.broadcast()
            condition.unlock()
        }
    }
}
