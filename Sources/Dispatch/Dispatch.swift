/// `Dispatch`: the app layer's decisions — turning orders and fleets into routing problems,
/// planning waves per region, and measuring the result. Actors (issue 5) will sit on top.
public enum DispatchLayer {
    public static let name = "dispatch"
}
