import Base
import DispatchPlanning
import Edge
import Fleet
import Geo

// Wire → domain, for clients of the edge protocol written in Swift (the simulated day's
// `EdgeSimulationGateway`): what a handheld or a dispatcher console makes of the gateway's answers.
// The gateway's own direction (domain → wire) is in module Edge (EdgeMapping.swift).

public enum EdgeDomain {
    static func bad(_ what: String, _ field: String) -> EdgeError { EdgeError(.malformed, what, field: field) }

    public static func courier(_ text: String, field: String = "courier") throws(EdgeError) -> CourierRef {
        guard let c = EdgeNames.courier(text) else { throw bad("expected vehicle:ID or rider:ID, got '\(text.prefix(40))'", field) }
        return c
    }

    public static func value<E: RawRepresentable & CaseIterable>(_ text: String, as type: E.Type, field: String) throws(EdgeError) -> E
    where E.RawValue == String {
        guard let v = EdgeNames.value(text, as: type) else { throw bad("expected one of \(EdgeNames.names(type)), got '\(text.prefix(40))'", field) }
        return v
    }

    public static func status(_ text: String) throws(EdgeError) -> Manifest.Status {
        let all: [Manifest.Status] = [.offShift, .idle, .working, .brokenDown]
        guard let s = all.first(where: { EdgeNames.snake($0.rawValue) == text }) else { throw bad("unknown manifest status '\(text.prefix(40))'", "status") }
        return s
    }

    /// The domain manifest a `WireManifest` describes. Stop windows carry no product on the wire:
    /// `product(order)` supplies it (the client knows what it placed), `.sameDay` when unknown.
    public static func manifest(_ w: WireManifest, product: (OrderID) -> Product? = { _ in nil }) throws(EdgeError) -> Manifest {
        var stops: [ManifestStop] = []
        for (i, s) in w.stops.enumerated() {
            let kind = try value(s.kind, as: ManifestStop.Kind.self, field: "stops[\(i)].kind")
            let orders = s.orders.map(OrderID.init)
            var window: PromiseWindow? = nil
            if let ww = s.window {
                window = PromiseWindow(product: orders.first.flatMap(product) ?? .sameDay, earliest: ww.from.instant, latest: ww.to.instant)
            }
            stops.append(ManifestStop(kind: kind, orders: orders, location: s.location.coordinate, site: s.site.map(SiteID.init),
                                      fromCourier: try s.fromCourier.map { (t: String) throws(EdgeError) in try courier(t, field: "stops[\(i)].from_courier") },
                                      eta: s.eta.instant, notBefore: s.notBefore?.instant, window: window))
        }
        return Manifest(courier: try courier(w.courier), version: w.version, status: try status(w.status), stops: stops,
                        onBoard: w.onBoard.map(OrderID.init))
    }

    public static func record(_ w: WireOrderRecord, region: RegionID) throws(EdgeError) -> OrderRecord {
        let product = try value(w.product, as: Product.self, field: "product")
        return OrderRecord(order: OrderID(w.order), region: region, product: product,
                           state: try value(w.state, as: OrderState.self, field: "state"),
                           courier: try w.courier.map { (t: String) throws(EdgeError) in try courier(t) },
                           promise: PromiseWindow(product: product, earliest: w.window.from.instant, latest: w.window.to.instant))
    }

    /// A pushed notification for `order` (the client maps the push's token reference to it).
    public static func notification(_ p: NotificationPushBody, order: OrderID) throws(EdgeError) -> CustomerNotification {
        CustomerNotification(order: order, kind: try value(p.kind, as: NotificationKind.self, field: "kind"),
                             window: p.window.map { ETAWindow(earliest: $0.from.instant, latest: $0.to.instant) },
                             failure: try p.failure.map { (t: String) throws(EdgeError) in try value(t, as: FailureReason.self, field: "failure") },
                             at: p.at.instant, code: p.code)
    }

    static let commandProblems: [DispatchCommandError.Problem] = [.unknownOrder, .unknownCourier, .unknownSite, .invalidState, .infeasible, .wrongRegion, .unknownSKU]
    static let placeProblems: [PlaceOrderRejection.Problem] = [.invalidOrder, .outsideEveryRegion, .productNotOffered, .outOfStock, .noCapacity, .duplicateOrder, .slotFull]

    /// An error answer as the dispatcher's refusal of `item`: the `problem` the gateway named, else
    /// one read from the code (`not_found` → unknown order, `forbidden` → wrong region, else invalid state).
    public static func commandError(_ e: EdgeError, item: String) -> DispatchCommandError {
        let named = e.problem.flatMap { p in commandProblems.first { EdgeNames.snake($0.rawValue) == p } }
        let problem: DispatchCommandError.Problem = named ?? {
            switch e.code {
            case .notFound: return .unknownOrder
            case .forbidden: return .wrongRegion
            default: return .invalidState
            }
        }()
        return DispatchCommandError(item: item, problem: problem, message: "\(e.code.rawValue): \(e.message)")
    }

    /// An error answer to `order.place` as a rejection of `order` (validation errors name the field).
    public static func rejection(_ e: EdgeError, order: OrderID) -> PlaceOrderRejection {
        let named = e.problem.flatMap { p in placeProblems.first { EdgeNames.snake($0.rawValue) == p } }
        return PlaceOrderRejection(order: order, problem: named ?? .invalidOrder,
                                   message: e.field.map { "\($0): \(e.message)" } ?? e.message,
                                   offeredSlots: e.offeredSlots.map { $0.map(\.instant) })
    }
}

extension WireOrder {
    /// The wire form of a domain draft (what a storefront sends).
    public init(_ d: OrderDraft) {
        self.init(id: d.id.rawValue, product: EdgeNames.snake(d.product.rawValue), destination: WirePosition(d.destination),
                  lines: d.lines.map { WireLine(sku: $0.sku.rawValue, quantity: $0.quantity) }, weightGrams: d.weightGrams,
                  volumeMillilitres: d.volumeMillilitres, zone: d.zone.map { EdgeNames.snake($0.rawValue) })
    }
}

extension WireReport {
    /// The wire form of a domain report, numbered `seq` (what a handheld sends).
    public init(_ r: HandheldReport, seq: Int64, offset: UTCOffset) {
        let t = WireTime(r.at, offset: offset)
        switch r {
        case .shiftStarted(_, _, let p): self.init(seq: seq, at: t, kind: "shift_started", position: WirePosition(p))
        case .position(_, let p, _): self.init(seq: seq, at: t, kind: "position", position: WirePosition(p))
        case .arrived(_, let stop, let orders, _):
            self.init(seq: seq, at: t, kind: "arrived", stop: EdgeNames.snake(stop.rawValue), orders: orders.map(\.rawValue))
        case .pickedUp(_, let orders, _): self.init(seq: seq, at: t, kind: "picked_up", orders: orders.map(\.rawValue))
        case .delivered(_, let o, let proof, _):
            var reference = proof.reference, sha: String? = nil
            if let hash = reference.range(of: "#sha256=") { sha = String(reference[hash.upperBound...]); reference = String(reference[..<hash.lowerBound]) }
            self.init(seq: seq, at: t, kind: "delivered", order: o.rawValue,
                      proof: WireProof(kind: EdgeNames.snake(proof.kind.rawValue), reference: reference, sha256: sha))
        case .failed(_, let o, let why, _): self.init(seq: seq, at: t, kind: "failed", order: o.rawValue, reason: EdgeNames.snake(why.rawValue))
        case .returned: self.init(seq: seq, at: t, kind: "returned")
        case .breakdown(_, let p, _): self.init(seq: seq, at: t, kind: "breakdown", position: WirePosition(p))
        case .shiftEnded: self.init(seq: seq, at: t, kind: "shift_ended")
        }
    }
}

extension DispatchCommandBody {
    /// The wire form of a dispatcher command for `region`.
    public init(_ c: DispatcherCommand, region: RegionID, key: String?, at: WireTime) {
        func text(_ r: CourierRef) -> String { EdgeNames.text(r) }
        switch c {
        case .assign(let o, let to): self.init(region: region.rawValue, command: "assign", order: o.rawValue, courier: text(to), key: key, at: at)
        case .reassign(let o, let to): self.init(region: region.rawValue, command: "reassign", order: o.rawValue, courier: text(to), key: key, at: at)
        case .unassign(let o): self.init(region: region.rawValue, command: "unassign", order: o.rawValue, key: key, at: at)
        case .hold(let o): self.init(region: region.rawValue, command: "hold", order: o.rawValue, key: key, at: at)
        case .release(let o): self.init(region: region.rawValue, command: "release", order: o.rawValue, key: key, at: at)
        case .cancel(let o, let why):
            self.init(region: region.rawValue, command: "cancel", order: o.rawValue, reason: EdgeNames.snake(why.rawValue), key: key, at: at)
        case .lockRoute(let r): self.init(region: region.rawValue, command: "lock", courier: text(r), key: key, at: at)
        case .unlockRoute(let r): self.init(region: region.rawValue, command: "unlock", courier: text(r), key: key, at: at)
        case .replanNow: self.init(region: region.rawValue, command: "replan", key: key, at: at)
        }
    }
}

extension CollectOutcome {
    /// The domain outcome of a `store.handover` reply.
    public init(_ b: StoreHandoverReplyBody) {
        switch b.outcome {
        case "handed_over": self = .handedOver
        case "wrong_code": self = .wrongCode(attemptsLeft: b.attemptsLeft ?? 0)
        case "locked": self = .locked
        case "not_ready": self = .notReady
        case "expired": self = .expired
        default: self = .unknownOrder
        }
    }
}

extension Manifest {
    /// What a handheld that cannot reach the gateway shows after `report`: its last manifest with
    /// the stops it has just served taken off (store-and-forward: the gateway hears of it later).
    public func applyingLocally(_ report: HandheldReport) -> Manifest {
        var m = self
        switch report {
        case .pickedUp(_, let orders, _):
            let loaded = Set(orders)
            if let i = m.stops.firstIndex(where: { $0.kind == .pickup && !loaded.isDisjoint(with: $0.orders) }) {
                m.stops[i].orders.removeAll { loaded.contains($0) }
                if m.stops[i].orders.isEmpty { m.stops.remove(at: i) }
            }
            for o in orders where !m.onBoard.contains(o) { m.onBoard.append(o) }
        case .delivered(_, let o, _, _):
            m.stops.removeAll { $0.kind == .delivery && $0.orders.contains(o) }
            m.onBoard.removeAll { $0 == o }
        case .failed(_, let o, _, _):
            m.stops.removeAll { $0.kind == .delivery && $0.orders.contains(o) }
        case .returned:
            if let i = m.stops.firstIndex(where: { $0.kind == .returnToBase }) { m.stops.remove(at: i) }
        case .shiftEnded:
            m.status = .offShift
        case .shiftStarted, .position, .arrived, .breakdown:
            break
        }
        return m
    }
}
