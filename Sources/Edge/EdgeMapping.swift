import Base
import DispatchPlanning
import Fleet
import Foundation
import Geo

// Wire ↔ domain. Every wire value is validated here, with the field named; the domain types
// never see a string from the outside unchecked.

extension WireReport {
    /// The domain report for `courier` (the authenticated principal's, never a field of the message).
    /// `at`: the path of this report in the body, for error messages (e.g. `reports[2]`).
    public func handheldReport(courier c: CourierRef, at path: String) -> Result<HandheldReport, EdgeError> {
        func bad(_ field: String, _ what: String) -> Result<HandheldReport, EdgeError> {
            .failure(EdgeError(.invalid, what, field: "\(path).\(field)"))
        }
        func position() -> Result<Coordinate, EdgeError> {
            guard let p = self.position else { return .failure(EdgeError(.malformed, "missing field '\(path).position' for \(kind)", field: "\(path).position")) }
            if let problem = p.problem { return .failure(EdgeError(.invalid, problem, field: "\(path).position")) }
            return .success(p.coordinate)
        }
        func order() -> Result<OrderID, EdgeError> {
            guard let o = self.order else { return .failure(EdgeError(.malformed, "missing field '\(path).order' for \(kind)", field: "\(path).order")) }
            guard EdgeNames.isIdentifier(o) else { return .failure(EdgeError(.invalid, "not an order id: '\(o.prefix(40))'", field: "\(path).order")) }
            return .success(OrderID(o))
        }
        func orders() -> Result<[OrderID], EdgeError> {
            guard let os = self.orders, !os.isEmpty else { return .failure(EdgeError(.malformed, "missing field '\(path).orders' (one or more) for \(kind)", field: "\(path).orders")) }
            guard os.count <= 500 else { return .failure(EdgeError(.tooLarge, "at most 500 orders in one report", field: "\(path).orders")) }
            for (i, o) in os.enumerated() where !EdgeNames.isIdentifier(o) {
                return .failure(EdgeError(.invalid, "not an order id: '\(o.prefix(40))'", field: "\(path).orders[\(i)]"))
            }
            return .success(os.map(OrderID.init))
        }
        guard seq >= 1 else { return bad("seq", "sequence numbers start at 1, got \(seq)") }
        let t = at.instant
        switch kind {
        case "shift_started": return position().map { .shiftStarted(c, at: t, position: $0) }
        case "position": return position().map { .position(c, $0, at: t) }
        case "arrived":
            guard let s = stop, let k = EdgeNames.value(s, as: ManifestStop.Kind.self) else {
                return bad("stop", "expected one of \(EdgeNames.names(ManifestStop.Kind.self)), got '\((stop ?? "").prefix(40))'")
            }
            // A return to base carries no orders; a pickup or delivery names them.
            if (self.orders ?? []).isEmpty, k == .returnToBase { return .success(.arrived(c, stop: k, orders: [], at: t)) }
            return orders().map { .arrived(c, stop: k, orders: $0, at: t) }
        case "picked_up": return orders().map { .pickedUp(c, orders: $0, at: t) }
        case "delivered":
            guard let p = proof else { return .failure(EdgeError(.malformed, "missing field '\(path).proof' for delivered", field: "\(path).proof")) }
            guard let kind = EdgeNames.value(p.kind, as: DeliveryProof.Kind.self) else {
                return bad("proof.kind", "expected one of \(EdgeNames.names(DeliveryProof.Kind.self)), got '\(p.kind.prefix(40))'")
            }
            guard EdgeNames.isIdentifier(p.reference) else { return bad("proof.reference", "a reference is 1 to \(EdgeProtocol.maxIDBytes) printable characters without spaces") }
            var reference = p.reference
            if kind == .photo {
                guard let h = p.sha256, Hex.isHex(h, length: 64) else { return bad("proof.sha256", "a photo's proof carries its SHA-256 as 64 hex digits") }
                reference += "#sha256=" + h.lowercased()
            } else if p.sha256 != nil, !Hex.isHex(p.sha256!, length: 64) {
                return bad("proof.sha256", "a SHA-256 is 64 hex digits")
            }
            return order().map { .delivered(c, order: $0, proof: DeliveryProof(kind: kind, reference: reference), at: t) }
        case "failed":
            guard let r = reason, let why = EdgeNames.value(r, as: FailureReason.self) else {
                return bad("reason", "expected one of \(EdgeNames.names(FailureReason.self)), got '\((reason ?? "").prefix(40))'")
            }
            return order().map { .failed(c, order: $0, reason: why, at: t) }
        case "returned": return .success(.returned(c, at: t))
        case "breakdown": return position().map { .breakdown(c, position: $0, at: t) }
        case "shift_ended": return .success(.shiftEnded(c, at: t))
        default:
            return bad("kind", "expected one of shift_started, position, arrived, picked_up, delivered, failed, returned, breakdown, shift_ended; got '\(kind.prefix(40))'")
        }
    }
}

extension WireManifest {
    public init(_ m: Manifest, offset: UTCOffset) {
        func time(_ t: Instant) -> WireTime { WireTime(t, offset: offset) }
        courier = EdgeNames.text(m.courier)
        version = m.version
        status = EdgeNames.snake(m.status.rawValue)
        stops = m.stops.map { s in
            WireStop(kind: EdgeNames.snake(s.kind.rawValue), orders: s.orders.map(\.rawValue),
                     labels: s.orders.map { ParcelLabel.make(order: $0) }, location: WirePosition(s.location), site: s.site?.rawValue,
                     fromCourier: s.fromCourier.map(EdgeNames.text), eta: time(s.eta), notBefore: s.notBefore.map(time),
                     window: s.window.map { WireWindow(from: time($0.earliest), to: time($0.latest)) })
        }
        onBoard = m.onBoard.map(\.rawValue).sorted()
        etag = Self.etag(m)
    }

    /// 16 hex digits of SHA-256 over the content a courier acts on: status, on board, and each stop's
    /// kind, orders, site and ETA to the minute. Not the version: a re-plan that changes nothing
    /// for this courier keeps the etag.
    public static func etag(_ m: Manifest) -> String {
        var text = "\(m.courier.kind.rawValue):\(m.courier.id)|\(m.status.rawValue)|\(m.onBoard.map(\.rawValue).sorted().joined(separator: ","))"
        for s in m.stops {
            text += "|\(s.kind.rawValue):\(s.orders.map(\.rawValue).joined(separator: ",")):\(s.site?.rawValue ?? ""):\(s.fromCourier.map(EdgeNames.text) ?? ""):\(s.eta.epochSeconds / 60)"
        }
        return String(SHA256.hex(text).prefix(16))
    }
}

extension WireOrder {
    public func draft() -> Result<OrderDraft, EdgeError> {
        func bad(_ field: String, _ what: String) -> Result<OrderDraft, EdgeError> { .failure(EdgeError(.invalid, what, field: "order.\(field)")) }
        guard EdgeNames.isIdentifier(id) else { return bad("id", "an order id is 1 to \(EdgeProtocol.maxIDBytes) printable characters without spaces or quotes") }
        guard let p = EdgeNames.value(product, as: Product.self) else { return bad("product", "expected one of \(EdgeNames.names(Product.self)), got '\(product.prefix(40))'") }
        if let problem = destination.problem { return bad("destination", problem) }
        guard !lines.isEmpty else { return bad("lines", "an order has one line or more") }
        guard lines.count <= 200 else { return .failure(EdgeError(.tooLarge, "at most 200 lines in an order", field: "order.lines")) }
        var out: [OrderLine] = []
        for (i, l) in lines.enumerated() {
            guard EdgeNames.isIdentifier(l.sku) else { return bad("lines[\(i)].sku", "not a SKU: '\(l.sku.prefix(40))'") }
            guard l.quantity >= 1, l.quantity <= 10_000 else { return bad("lines[\(i)].quantity", "a quantity is 1 to 10000, got \(l.quantity)") }
            out.append(OrderLine(sku: SKU(l.sku), quantity: l.quantity))
        }
        var z: TemperatureZone?
        if let zone {
            guard let v = EdgeNames.value(zone, as: TemperatureZone.self) else { return bad("zone", "expected one of \(EdgeNames.names(TemperatureZone.self))") }
            z = v
        }
        if let w = weightGrams, w < 0 || w > 1_000_000 { return bad("weight_grams", "0 to 1000000 grams, got \(w)") }
        if let v = volumeMillilitres, v < 0 || v > 10_000_000 { return bad("volume_millilitres", "0 to 10000000 ml, got \(v)") }
        return .success(OrderDraft(id: OrderID(id), lines: out, weightGrams: weightGrams, volumeMillilitres: volumeMillilitres, zone: z,
                                   destination: destination.coordinate, product: p))
    }
}

extension DispatchCommandBody {
    /// The domain command, every operand checked.
    public func dispatcherCommand() -> Result<DispatcherCommand, EdgeError> {
        func needOrder() -> Result<OrderID, EdgeError> {
            guard let o = order else { return .failure(EdgeError(.malformed, "\(command) needs 'order'", field: "order")) }
            guard EdgeNames.isIdentifier(o) else { return .failure(EdgeError(.invalid, "not an order id: '\(o.prefix(40))'", field: "order")) }
            return .success(OrderID(o))
        }
        func needCourier() -> Result<CourierRef, EdgeError> {
            guard let c = courier else { return .failure(EdgeError(.malformed, "\(command) needs 'courier' (vehicle:ID or rider:ID)", field: "courier")) }
            guard let ref = EdgeNames.courier(c) else { return .failure(EdgeError(.invalid, "expected vehicle:ID or rider:ID, got '\(c.prefix(40))'", field: "courier")) }
            return .success(ref)
        }
        switch command {
        case "assign": return needOrder().flatMap { o in needCourier().map { .assign(o, to: $0) } }
        case "reassign": return needOrder().flatMap { o in needCourier().map { .reassign(o, to: $0) } }
        case "unassign": return needOrder().map { .unassign($0) }
        case "hold": return needOrder().map { .hold($0) }
        case "release": return needOrder().map { .release($0) }
        case "cancel":
            var why = CancelReason.operatorDecision
            if let r = reason {
                guard let v = EdgeNames.value(r, as: CancelReason.self) else {
                    return .failure(EdgeError(.invalid, "expected one of \(EdgeNames.names(CancelReason.self)), got '\(r.prefix(40))'", field: "reason"))
                }
                why = v
            }
            return needOrder().map { .cancel($0, reason: why) }
        case "lock": return needCourier().map { .lockRoute($0) }
        case "unlock": return needCourier().map { .unlockRoute($0) }
        case "replan": return .success(.replanNow)
        default:
            return .failure(EdgeError(.invalid, "expected one of assign, reassign, unassign, hold, release, cancel, lock, unlock, replan; got '\(command.prefix(40))'",
                                      field: "command"))
        }
    }
}

extension EdgeError {
    /// A dispatcher's refusal: nothing changed.
    public init(_ e: DispatchCommandError) {
        let code: EdgeErrorCode = switch e.problem {
        case .unknownOrder, .unknownCourier, .unknownSite, .unknownSKU: .notFound
        case .invalidState, .infeasible, .wrongRegion: .refused
        }
        self.init(code, "\(e.item): \(e.message)", problem: EdgeNames.snake(e.problem.rawValue))
    }

    /// A placement's rejection: nothing placed.
    public init(_ r: PlaceOrderRejection, offset: UTCOffset = .utc) {
        self.init(.refused, "order \(r.order): \(r.message)", problem: EdgeNames.snake(r.problem.rawValue),
                  offeredSlots: r.offeredSlots.map { $0.map { WireTime($0, offset: offset) } })
    }
}

extension WireOrderRecord {
    public init(_ r: OrderRecord, offset: UTCOffset) {
        order = r.order.rawValue; product = EdgeNames.snake(r.product.rawValue); state = EdgeNames.snake(r.state.rawValue)
        courier = r.courier.map(EdgeNames.text)
        window = WireWindow(from: WireTime(r.promise.earliest, offset: offset), to: WireTime(r.promise.latest, offset: offset))
    }
}

extension NotificationPushBody {
    public init(_ n: CustomerNotification, tokenRef: String, offset: UTCOffset) {
        self.init(tokenRef: tokenRef, kind: EdgeNames.snake(n.kind.rawValue),
                  window: n.window.map { WireWindow(from: WireTime($0.earliest, offset: offset), to: WireTime($0.latest, offset: offset)) },
                  failure: n.failure.map { EdgeNames.snake($0.rawValue) }, code: n.code, at: WireTime(n.at, offset: offset))
    }
}

extension StoreHandoverReplyBody {
    public init(order: OrderID, _ outcome: CollectOutcome) {
        switch outcome {
        case .handedOver: self.init(order: order.rawValue, outcome: "handed_over")
        case .wrongCode(let n): self.init(order: order.rawValue, outcome: "wrong_code", attemptsLeft: n)
        case .locked: self.init(order: order.rawValue, outcome: "locked", attemptsLeft: 0)
        case .notReady: self.init(order: order.rawValue, outcome: "not_ready")
        case .expired: self.init(order: order.rawValue, outcome: "expired")
        case .unknownOrder: self.init(order: order.rawValue, outcome: "unknown_order")
        }
    }
}

/// What a scan means for a courier, decided from its manifest: the parcel must be on it.
public enum ScanDecision {
    public static func decide(label: String, manifest m: Manifest) -> Result<ScanOKBody, EdgeError> {
        guard let order = ParcelLabel.order(from: label) else {
            return .failure(EdgeError(.invalid, "'\(label.prefix(60))' is not a Daybreak parcel label (DBK:<order>[/<n>])", field: "label"))
        }
        let onBoard = Set(m.onBoard)
        for (i, s) in m.stops.enumerated() where s.orders.contains(order) {
            switch s.kind {
            case .pickup where !onBoard.contains(order): return .success(ScanOKBody(label: label, order: order.rawValue, action: "load", stop: i))
            case .delivery where onBoard.contains(order): return .success(ScanOKBody(label: label, order: order.rawValue, action: "deliver", stop: i))
            default: continue
            }
        }
        return .failure(EdgeError(.notOnManifest, "parcel \(label.prefix(60)) (order \(order)) is not on \(EdgeNames.text(m.courier))'s manifest: do not load or deliver it",
                                  field: "label"))
    }
}

