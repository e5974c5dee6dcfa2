/// Daybreak's release version (semantic versioning).
public enum DaybreakVersion {
    public static let string = "0.1.0"
}
