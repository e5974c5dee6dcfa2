import Base
import DaybreakNode
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Geo

// Store staff's queue, no-shows, stock and unlocks; customers' tracking view.

extension EdgeServer {
    func storeExtras(_ envelope: EdgeEnvelope, _ c: RequestContext) async throws -> [UInt8] {
        let site = c.principal.site!
        guard let region = cluster.configs.first(where: { $0.sites.contains { $0.id == site } })?.region else {
            throw EdgeError(.notFound, "site \(site) is in no region's config")
        }
        switch envelope.type {
        case "store.queue":
            _ = try body(envelope, EmptyBody.self)
            let now = await clock.now()
            let entries = try await cluster.read("pick queue", region: region) { try await $0.pickQueue(site: site, at: now) }
            return EdgeCodec.encode("store.queue", PickQueueReplyBody(site: site.rawValue, orders: entries.map { e in
                WirePickEntry(order: e.order.rawValue, product: EdgeNames.snake(e.product.rawValue), state: EdgeNames.snake(e.state.rawValue),
                              due: time(e.due), lines: e.lines.map { WireLine(sku: $0.sku.rawValue, quantity: $0.quantity) },
                              courier: e.courier.map(EdgeNames.text), awaitingCollection: e.awaitingCollection, held: e.held)
            }))
        case "store.no_shows":
            _ = try body(envelope, EmptyBody.self)
            let entries = try await cluster.read("no-shows", region: region) { try await $0.noShows(site: site) }
            return EdgeCodec.encode("store.no_shows", NoShowsReplyBody(site: site.rawValue, orders: entries.map { e in
                WireNoShow(order: e.order.rawValue, at: time(e.at), lines: e.lines.map { WireLine(sku: $0.sku.rawValue, quantity: $0.quantity) })
            }))
        case "store.unlock":
            let b = try body(envelope, StoreUnlockBody.self)
            let order = try orderID(b.order)
            try await requireSite(order, of: c.principal)
            let reason = b.reason.trimmingCharacters(in: .whitespaces)
            guard !reason.isEmpty, reason.utf8.count <= 200 else { throw EdgeError(.invalid, "say why (1 to 200 characters): e.g. 'ID checked'", field: "reason") }
            let r = try await cluster.request(.unlockCollection(order, staffReason: reason, at: b.at.instant), region: region,
                                              key: "unlock/\(site)/\(order)/\(b.at.instant.epochSeconds)")
            await audit.record(AuditEntry(c, kind: "store.unlock", order: order.rawValue, region: region.rawValue, outcome: outcome(r),
                                          detail: reason, eventAt: b.at.instant.epochSeconds))
            if case .refused(let e) = r { throw EdgeError(e) }
            return EdgeCodec.encode("ok", OKBody())
        case "store.stock":
            let b = try body(envelope, StoreStockBody.self)
            guard EdgeNames.isIdentifier(b.sku) else { throw EdgeError(.invalid, "not a SKU: '\(b.sku.prefix(40))'", field: "sku") }
            guard let reason = StockChange.Reason(rawValue: b.reason) else {
                throw EdgeError(.invalid, "expected replenishment or correction, got '\(b.reason.prefix(40))'", field: "reason")
            }
            guard b.quantity != 0, abs(b.quantity) <= 100_000 else { throw EdgeError(.invalid, "a quantity is ±1 to ±100000, got \(b.quantity)", field: "quantity") }
            if reason == .replenishment, b.quantity < 0 { throw EdgeError(.invalid, "a replenishment adds units: quantity > 0", field: "quantity") }
            let note = String((b.note ?? "").prefix(200))
            let change = StockChange(site: site, sku: SKU(b.sku), quantity: .delta(b.quantity), reason: reason, note: note, at: b.at.instant)
            let r = try await cluster.request(.stock(change), region: region,
                                              key: "stock/\(site)/\(b.sku)/\(b.reason)/\(b.quantity)/\(b.at.instant.epochSeconds)")
            await audit.record(AuditEntry(c, kind: "store.stock", region: region.rawValue, outcome: outcome(r),
                                          detail: "\(b.reason) \(b.sku) \(b.quantity > 0 ? "+" : "")\(b.quantity) \(note)", eventAt: b.at.instant.epochSeconds))
            switch r {
            case .stock(let level):
                return EdgeCodec.encode("store.stock", StockReplyBody(site: site.rawValue, sku: level.sku.rawValue, onHand: level.onHand, available: level.available))
            case .refused(let e): throw EdgeError(e)
            default: throw EdgeError(.internalError, "unexpected answer to a stock change")
            }
        default:
            throw EdgeError(.unknownType, "no message type '\(envelope.type)'", field: "type")
        }
    }

    /// A store clerk acts only on orders of its own site.
    func requireSite(_ order: OrderID, of p: EdgePrincipal) async throws {
        guard let site = p.site else { throw EdgeError(.forbidden, "not a store") }
        guard let region = try await cluster.region(of: order) else { throw EdgeError(.notFound, "no order \(order)", field: "order") }
        let now = await clock.now()
        let t = try await cluster.read("tracking", region: region) { try await $0.tracking(order: order, at: now) }
        guard let t else { throw EdgeError(.notFound, "no order \(order)", field: "order") }
        guard t.collectionSite == site else { throw EdgeError(.forbidden, "order \(order) is not collected at \(site)", field: "order") }
    }

    func track(_ b: TokenBody, _ c: RequestContext) async throws -> [UInt8] {
        let target = try await token(b.token)
        let now = await clock.now()
        guard let t = try await cluster.read("tracking", region: target.region, { try await $0.tracking(order: target.order, at: now) }) else {
            throw EdgeError(.notFound, "no order for this token", field: "token")
        }
        func window(_ w: ETAWindow) -> WireWindow { WireWindow(from: time(w.earliest), to: time(w.latest)) }
        let body = TrackingBody(state: EdgeNames.snake(t.state.rawValue), product: EdgeNames.snake(t.product.rawValue),
                                window: WireWindow(from: time(t.promise.earliest), to: time(t.promise.latest)),
                                etaWindow: t.eta.map(window), stopsAway: t.stopsAway, courierPosition: t.courierPosition.map(WirePosition.init),
                                site: t.collectionSite?.rawValue, readyForCollection: t.product == .bopis ? t.readyForCollection : nil)
        return EdgeCodec.encode("tracking", body)
    }

    func outcome(_ r: DispatchResponse) -> String {
        if case .refused(let e) = r { return "refused: \(e.problem.rawValue)" }
        return "ok"
    }
}
