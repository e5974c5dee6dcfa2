import Testing
@testable import Warehouse

/// The validator catches each kind of fault in a hand-made bad plan (so a planner's "valid" means something).
@Suite struct PlanValidatorTests {
    // . . .
    // . @ .
    let g = TestFloor.grid(["...", ".@.",])
    var v: PlanValidator { TestFloor.validator(g) }

    @Test func aGoodPlanHasNoViolation() {
        // Robot 0 goes 0→1→2, robot 1 waits at 3 then goes to 0 after robot 0 left it.
        let paths = [[0, 1, 2], [3, 3, 0]]
        #expect(v.violations(paths: paths, starts: [0, 3], goals: [2, 0]).isEmpty)
        #expect(PlanValidator.sumOfCosts(paths: paths, goals: [2, 0]) == 4)
    }

    @Test func wrongStartIsCaught() {
        #expect(v.violations(paths: [[1, 2]], starts: [0], goals: [2]) == [.wrongStart(robot: 0)])
    }

    @Test func goalNotReachedIsCaught() {
        #expect(v.violations(paths: [[0, 1]], starts: [0], goals: [2]) == [.goalNotReached(robot: 0)])
    }

    @Test func aJumpIsCaught() {
        #expect(v.violations(paths: [[0, 2]], starts: [0], goals: [2]) == [.notAdjacent(robot: 0, step: 1)])
    }

    @Test func anObstacleOrOffTheMapIsCaught() {
        #expect(v.violations(paths: [[1, 4, 5]], starts: [1], goals: [5]) == [.offMapOrObstacle(robot: 0, step: 1)])
        #expect(v.violations(paths: [[5, 8]], starts: [5], goals: [8]).contains(.offMapOrObstacle(robot: 0, step: 1)))
    }

    @Test func aVertexConflictIsCaught() {
        #expect(v.violations(paths: [[0, 1], [2, 1]], starts: [0, 2], goals: [1, 1]) == [.vertexConflict(a: 0, b: 1, step: 1)])
    }

    @Test func aSwapConflictIsCaught() {
        #expect(v.violations(paths: [[0, 1], [1, 0]], starts: [0, 1], goals: [1, 0]) == [.swapConflict(a: 0, b: 1, step: 1)])
        // Following one another is not a swap.
        #expect(v.violations(paths: [[0, 1], [1, 2]], starts: [0, 1], goals: [1, 2]).isEmpty)
    }

    @Test func pathsOfDifferentLengthsAreCaught() {
        #expect(v.violations(paths: [[0, 1], [2]], starts: [0, 2], goals: [1, 2]) == [.pathLengths])
    }

    @Test func rotationModelActionsAreChecked() {
        // Facing east: forward to 1 is legal, turning in place by one quarter is legal.
        #expect(v.violations(paths: [[0, 1, 1]], starts: [0], goals: nil, headings: [[0, 0, 1]]).isEmpty)
        // Moving south while facing east, turning while moving, and a half turn in place are not.
        #expect(v.violations(paths: [[0, 3]], starts: [0], goals: nil, headings: [[0, 0]]) == [.illegalRotationMove(robot: 0, step: 1)])
        #expect(v.violations(paths: [[0, 1]], starts: [0], goals: nil, headings: [[0, 1]]) == [.illegalRotationMove(robot: 0, step: 1)])
        #expect(v.violations(paths: [[0, 0]], starts: [0], goals: nil, headings: [[0, 2]]) == [.illegalRotationMove(robot: 0, step: 1)])
    }
}
