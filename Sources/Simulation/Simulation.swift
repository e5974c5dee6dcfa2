import DispatchPlanning

/// The simulated day (`daybreak simulate`): customers, drivers' and riders' handhelds, store and hub
/// staff and the disruptions of a day, all driving Daybreak through `DispatchGateway` only.
public enum Simulation {}
