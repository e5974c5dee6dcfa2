/// Natural logarithm and exponential without Foundation (the module stays free of
/// platform imports). Accurate to ~1e-12 relative, plenty for annealing schedules.
enum Math {
    static let ln2 = 0.693_147_180_559_945_3

    static func ln(_ x: Double) -> Double {
        precondition(x > 0, "ln of a non-positive number")
        let e = Double(x.exponent)
        let m = x.significand   // [1, 2)
        let y = (m - 1) / (m + 1)
        let y2 = y * y
        var term = y, sum = 0.0
        var k = 1.0
        for _ in 0..<20 { sum += term / k; term *= y2; k += 2 }
        return e * ln2 + 2 * sum
    }

    static func exp(_ x: Double) -> Double {
        if x < -700 { return 0 }
        if x > 700 { return .infinity }
        let k = (x / ln2).rounded()
        let r = x - k * ln2
        var term = 1.0, sum = 1.0
        for i in 1..<20 { term *= r / Double(i); sum += term }
        return Double(sign: .plus, exponent: Int(k), significand: 1) * sum
    }
}
