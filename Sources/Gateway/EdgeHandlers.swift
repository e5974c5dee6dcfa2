import Base
import Cluster
import DaybreakNode
import DispatchPlanning
import Edge
import Fleet
import Foundation
import Geo
import Messaging
import Storage
import Synchronization

extension EdgeServer {
    /// One authorised request → its reply (or throws an `EdgeError` to answer).
    func dispatch(_ envelope: EdgeEnvelope, _ c: RequestContext) async throws -> [UInt8] {
        let p = c.principal
        switch envelope.type {
        case "hello":
            let b = try body(envelope, HelloBody.self)
            let theirs = b.versions ?? [envelope.version]
            guard let v = theirs.filter(EdgeProtocol.supportedVersions.contains).max() else {
                throw EdgeError(.unsupportedVersion, "none of versions \(theirs) is spoken here", field: "versions",
                                supportedVersions: EdgeProtocol.supportedVersions)
            }
            if let courier = p.courier { register(courier: courier, routingID: c.routingID) }
            return EdgeCodec.encode("welcome", WelcomeBody(version: v, principal: p.userID, role: p.role.rawValue,
                                                           scope: scopeText(p.scope), gateway: configuration.name))
        case "ping":
            if let courier = p.courier { register(courier: courier, routingID: c.routingID) }
            return EdgeCodec.encode("pong", PongBody(gateway: configuration.name))
        case "reports": return try await reports(try body(envelope, ReportsBody.self), c)
        case "manifest.get":
            let b = try body(envelope, ManifestGetBody.self)
            let courier = p.courier!
            register(courier: courier, routingID: c.routingID)
            let m = try await manifest(courier, at: b.at?.instant)
            if let v = b.ifNewerThan, m.version <= v { return EdgeCodec.encode("manifest.unchanged", ManifestUnchangedBody(version: m.version, etag: m.etag)) }
            if let e = b.ifNoneMatch, e == m.etag { return EdgeCodec.encode("manifest.unchanged", ManifestUnchangedBody(version: m.version, etag: m.etag)) }
            return EdgeCodec.encode("manifest", ManifestBody(manifest: m))
        case "scan":
            let b = try body(envelope, ScanBody.self)
            let courier = p.courier!
            guard let region = cluster.region(of: courier) else { throw EdgeError(.notFound, "\(EdgeNames.text(courier)) is in no region") }
            let now = await clock.now()
            guard case .success(let m) = try await cluster.manifest(of: courier, at: now) else {
                throw EdgeError(.notFound, "no manifest for \(EdgeNames.text(courier))")
            }
            switch ScanDecision.decide(label: b.label, manifest: m) {
            case .success(let ok):
                await audit.record(AuditEntry(c, kind: "scan", order: ok.order, region: region.rawValue, outcome: "ok", detail: ok.action))
                return EdgeCodec.encode("scan.ok", ok)
            case .failure(let e):
                await audit.record(AuditEntry(c, kind: "scan", order: ParcelLabel.order(from: b.label)?.rawValue, region: region.rawValue,
                                              outcome: e.code.rawValue, detail: e.message))
                throw e
            }
        case "store.picking_started", "store.packed":
            let b = try body(envelope, StoreOrderBody.self)
            let site = p.site!
            let order = try orderID(b.order)
            let report: SiteReport = envelope.type == "store.packed" ? .packed(site: site, order: order, at: b.at.instant)
                                                                      : .pickingStarted(site: site, order: order, at: b.at.instant)
            let key = "site/\(site)/\(order)/\(envelope.type)"
            let r = try await cluster.siteReport(report, key: key)
            await audit.record(AuditEntry(c, kind: envelope.type, order: order.rawValue, outcome: outcome(r), eventAt: b.at.instant.epochSeconds))
            switch r {
            case .success(.ok): return EdgeCodec.encode("ok", OKBody())
            case .success(.readyForCollection(let code, let until)):
                return EdgeCodec.encode("store.ready", StoreReadyBody(order: order.rawValue, code: code, holdUntil: time(until)))
            case .failure(let e): throw EdgeError(e)
            }
        case "store.handover":
            let b = try body(envelope, StoreHandoverBody.self)
            let order = try orderID(b.order)
            try await requireSite(order, of: p)
            guard b.code.utf8.count <= 32 else { throw EdgeError(.invalid, "a pickup code is at most 32 characters", field: "code") }
            let key = "collect/\(p.site!)/\(order)/\(SHA256.hex(b.code).prefix(16))/\(b.at.instant.epochSeconds)"
            let outcome = try await cluster.collect(order, code: b.code, at: b.at.instant, key: key)
            let reply = StoreHandoverReplyBody(order: order, outcome)
            await audit.record(AuditEntry(c, kind: "store.handover", order: order.rawValue, outcome: reply.outcome, eventAt: b.at.instant.epochSeconds))
            return EdgeCodec.encode("store.handover", reply)
        case "store.queue", "store.no_shows", "store.unlock", "store.stock":
            return try await storeExtras(envelope, c)
        case "order.place": return try await place(try body(envelope, PlaceOrderBody.self), c)
        case "slots.offer":
            let b = try body(envelope, SlotsOfferBody.self)
            if let problem = b.destination.problem { throw EdgeError(.invalid, problem, field: "destination") }
            guard let (region, slots) = try await cluster.slotOffers(destination: b.destination.coordinate, at: b.at.instant) else {
                throw EdgeError(.refused, "destination (\(b.destination.lat), \(b.destination.lon)) is outside every region", problem: "outside_every_region")
            }
            return EdgeCodec.encode("slots.offered", SlotsOfferedBody(region: region.rawValue, slots: slots.map {
                WireSlot(start: time($0.start), end: time($0.end), remaining: $0.remaining)
            }))
        case "order.cancel":
            let b = try body(envelope, CancelOrderBody.self)
            let t = try await token(b.token)
            guard t.storefront == p.userID else { throw EdgeError(.forbidden, "order of token \(TrackingToken.reference(b.token))… was placed by another storefront") }
            var reason = CancelReason.customerRequest
            if let r = b.reason {
                guard let v = EdgeNames.value(r, as: CancelReason.self) else {
                    throw EdgeError(.invalid, "expected one of \(EdgeNames.names(CancelReason.self))", field: "reason")
                }
                reason = v
            }
            let r = try await cluster.cancelOrder(t.order, reason: reason, at: b.at.instant, key: "cancel/\(t.order)")
            await audit.record(AuditEntry(c, kind: "order.cancel", order: t.order.rawValue, region: t.region.rawValue, outcome: outcome(r),
                                          detail: "token \(TrackingToken.reference(b.token))…", eventAt: b.at.instant.epochSeconds))
            if case .failure(let e) = r { throw EdgeError(e) }
            return EdgeCodec.encode("ok", OKBody())
        case "order.track": return try await track(try body(envelope, TokenBody.self), c)
        case "order.subscribe", "order.unsubscribe":
            let b = try body(envelope, TokenBody.self)
            let t = try await token(b.token)
            let ref = TrackingToken.reference(b.token)
            if envelope.type == "order.subscribe" {
                guard subscribe(order: t.order, tokenRef: ref, routingID: c.routingID) else {
                    throw EdgeError(.tooLarge, "at most \(Sessions.maxSubscriptionsPerConnection) subscriptions per connection")
                }
            } else {
                unsubscribe(order: t.order, routingID: c.routingID)
            }
            return EdgeCodec.encode("subscribed", SubscribedBody(tokenRef: envelope.type == "order.subscribe" ? ref : ""))
        case "dispatch.command":
            let b = try body(envelope, DispatchCommandBody.self)
            let region = try covered(b.region, p)
            let command: DispatcherCommand
            switch b.dispatcherCommand() {
            case .success(let cmd): command = cmd
            case .failure(let e): throw e
            }
            if let k = b.key, !EdgeNames.isIdentifier(k) { throw EdgeError(.invalid, "a key is 1 to 200 printable characters without spaces", field: "key") }
            let key = "cmd/\(p.userID)/" + (b.key ?? TrackingToken.make())
            let r = try await cluster.command(command, region: region, at: b.at.instant, key: key)
            await audit.record(AuditEntry(c, kind: "dispatch.\(b.command)", order: b.order, region: region.rawValue, outcome: outcome(r),
                                          detail: [b.courier.map { "courier \($0)" }, b.reason].compactMap { $0 }.joined(separator: " "),
                                          eventAt: b.at.instant.epochSeconds))
            if case .failure(let e) = r { throw EdgeError(e) }
            return EdgeCodec.encode("ok", OKBody())
        case "dispatch.orders":
            let b = try body(envelope, DispatchOrdersBody.self)
            let region = try covered(b.region, p)
            var states: Set<String>? = nil
            if let s = b.states {
                for (i, x) in s.enumerated() where EdgeNames.value(x, as: OrderState.self) == nil {
                    throw EdgeError(.invalid, "expected one of \(EdgeNames.names(OrderState.self)), got '\(x.prefix(40))'", field: "states[\(i)]")
                }
                states = Set(s)
            }
            let records = try await cluster.records(region: region)
            let wire = records.map { WireOrderRecord($0, offset: configuration.offset) }.filter { states?.contains($0.state) ?? true }
                .sorted { $0.order < $1.order }
            return EdgeCodec.encode("dispatch.orders", DispatchOrdersReplyBody(region: region.rawValue, orders: wire))
        case "dispatch.manifest":
            let b = try body(envelope, DispatchManifestBody.self)
            guard let courier = EdgeNames.courier(b.courier) else { throw EdgeError(.invalid, "expected vehicle:ID or rider:ID", field: "courier") }
            guard let region = cluster.region(of: courier) else { throw EdgeError(.notFound, "\(b.courier) is in no region") }
            _ = try covered(region.rawValue, p)
            return EdgeCodec.encode("manifest", ManifestBody(manifest: try await manifest(courier, at: b.at?.instant)))
        case "dispatch.status":
            let b = try body(envelope, DispatchStatusBody.self)
            let regions = try (b.regions ?? cluster.configs.map(\.region.rawValue)).filter { r in
                if b.regions == nil { return p.covers(region: RegionID(r)) }
                _ = try covered(r, p)
                return true
            }
            var out: [WireRegionStatus] = []
            for r in regions.sorted() {
                let owner = cluster.client.ownership.owner(ofRegion: r).map(\.id)
                do {
                    let s = try await cluster.read("status", region: RegionID(r)) { try await $0.status(now: nil) }
                    out.append(WireRegionStatus(region: r, owner: owner, now: time(s.now), operatingDay: s.operatingDay?.isoDate,
                                                days: s.days.map(\.day.isoDate), openOrders: s.openOrders, nextDue: s.nextDue.map { time($0.at) }, error: nil))
                } catch {
                    out.append(WireRegionStatus(region: r, owner: owner, now: nil, operatingDay: nil, days: [], openOrders: 0, nextDue: nil,
                                                error: "no answer: \(error)"))
                }
            }
            return EdgeCodec.encode("dispatch.status", DispatchStatusReplyBody(regions: out))
        case "clock.advance":
            let b = try body(envelope, ClockAdvanceBody.self)
            do {
                for config in cluster.configs { try await cluster.advance(region: config.region, to: b.to.instant) }
            } catch let e as ClockError {
                throw EdgeError(.refused, e.description, field: "to")
            }
            await audit.record(AuditEntry(c, kind: "clock.advance", outcome: "ok", detail: "to \(time(b.to.instant).instant.iso8601(configuration.offset))",
                                          eventAt: b.to.instant.epochSeconds))
            return EdgeCodec.encode("clock", ClockBody(now: time(b.to.instant)))
        default:
            throw EdgeError(.unknownType, "no message type '\(envelope.type)'", field: "type")
        }
    }

    // MARK: - Couriers

    func reports(_ b: ReportsBody, _ c: RequestContext) async throws -> [UInt8] {
        let courier = c.principal.courier!
        guard EdgeNames.isIdentifier(b.device), b.device.utf8.count <= 64 else {
            throw EdgeError(.invalid, "a device id is 1 to 64 printable characters without spaces", field: "device")
        }
        guard !b.reports.isEmpty else { throw EdgeError(.malformed, "no reports", field: "reports") }
        guard b.reports.count <= EdgeProtocol.maxBatch else {
            throw EdgeError(.tooLarge, "\(b.reports.count) reports; at most \(EdgeProtocol.maxBatch) in one request", field: "reports")
        }
        // Everything is checked before anything is applied: a batch with a malformed report applies nothing.
        var domain: [HandheldReport] = []
        for (i, r) in b.reports.enumerated() {
            switch r.handheldReport(courier: courier, at: "reports[\(i)]") {
            case .success(let h): domain.append(h)
            case .failure(let e): throw e
            }
            if i > 0, r.seq != b.reports[i - 1].seq + 1 {
                throw EdgeError(.invalid, "sequence numbers in a batch are consecutive: \(b.reports[i - 1].seq) then \(r.seq)", field: "reports[\(i)].seq")
            }
        }
        register(courier: courier, routingID: c.routingID)
        let region = cluster.region(of: courier)?.rawValue
        var results: [ReportResult] = []
        var lastSeq: Int64? = nil
        var manifest: Manifest? = nil
        for (i, r) in b.reports.enumerated() {
            let outcome: DeviceReportOutcome
            do {
                outcome = try await cluster.deviceReport(domain[i], device: b.device, seq: r.seq)
            } catch {
                results.append(ReportResult(seq: r.seq, status: "unavailable",
                                            error: EdgeError(.unavailable, "the cluster did not answer in time; resend from this seq")))
                break
            }
            let order = r.order ?? r.orders?.first
            switch outcome {
            case .applied(let response), .duplicate(_, let response):
                var duplicate = false
                if case .duplicate(let last, _) = outcome { duplicate = true; lastSeq = max(lastSeq ?? 0, last) } else { lastSeq = r.seq }
                switch response {
                case .manifest(let m):
                    manifest = m
                    results.append(ReportResult(seq: r.seq, status: duplicate ? "duplicate" : "applied"))
                case .refused(let e):
                    results.append(ReportResult(seq: r.seq, status: duplicate ? "duplicate" : "refused", error: EdgeError(e)))
                default:
                    results.append(ReportResult(seq: r.seq, status: duplicate ? "duplicate" : "applied"))
                }
                if duplicate { counters.reportsDuplicate.add(1, ordering: .relaxed) } else { counters.reportsApplied.add(1, ordering: .relaxed) }
                if !duplicate {
                    let refusal: String? = if case .refused(let e) = response { "refused: \(e.problem.rawValue)" } else { nil }
                    await audit.record(AuditEntry(c, kind: "report.\(r.kind)", device: b.device, order: order, region: region,
                                                  outcome: refusal ?? "ok", detail: "seq \(r.seq)", eventAt: r.at.instant.epochSeconds))
                }
            case .gap(let last):
                lastSeq = last
                results.append(ReportResult(seq: r.seq, status: "gap",
                                            error: EdgeError(.sequenceGap, "seq \(r.seq) is not the next: the last applied is \(last); resend from \(last + 1)",
                                                             lastSeq: last)))
            }
            if case .gap = outcome { break }
        }
        if results.count == 1, results[0].status == "gap", let e = results[0].error { throw e }
        // The etag first: the wire manifest (labels, times) is built only when the handheld lacks it.
        let etag = manifest.map(WireManifest.etag)
        let wire = etag == nil || etag == b.ifNoneMatch ? nil : manifest.map { WireManifest($0, offset: configuration.offset) }
        return EdgeCodec.encode("reports.ack", ReportsAckBody(lastSeq: lastSeq ?? 0, results: results, manifest: wire, manifestEtag: etag))
    }


    func manifest(_ courier: CourierRef, at: Instant? = nil) async throws -> WireManifest {
        let now: Instant
        if let at { now = at } else { now = await clock.now() }
        switch try await cluster.manifest(of: courier, at: now) {
        case .success(let m): return WireManifest(m, offset: configuration.offset)
        case .failure(let e): throw EdgeError(e)
        }
    }

    // MARK: - Storefronts and customers

    func place(_ b: PlaceOrderBody, _ c: RequestContext) async throws -> [UInt8] {
        let draft: OrderDraft
        switch b.order.draft() {
        case .success(let d): draft = d
        case .failure(let e): throw e
        }
        // The slot is part of the request: the same order placed again for another slot (the next
        // free one a `slot_full` refusal offered) is a new request, not a retry of the refused one.
        let key = "place/\(draft.id)" + (b.slot.map { "/slot-\($0.instant.epochSeconds)" } ?? "")
        let (outcome, region) = try await cluster.placeOrder(draft, slot: b.slot?.instant, at: b.at.instant, key: key)
        let window: PromiseWindow, site: SiteID, kind: String, eta: Instant?
        var courier: CourierRef? = nil
        switch outcome {
        case .rejected(let r):
            await audit.record(AuditEntry(c, kind: "order.place", order: draft.id.rawValue, region: region?.rawValue,
                                          outcome: "refused: \(r.problem.rawValue)", eventAt: b.at.instant.epochSeconds))
            throw EdgeError(r, offset: configuration.offset)
        case .assigned(let c, let s, let e, let w): window = w; site = s; kind = "assigned"; eta = e; courier = c
        case .awaitingWave(let s, let w): window = w; site = s; kind = "awaiting_wave"; eta = nil
        case .awaitingCollection(let s, let w): window = w; site = s; kind = "awaiting_collection"; eta = nil
        }
        guard let region else { throw EdgeError(.internalError, "placed without a region") }
        let token = TrackingToken.make()
        let pool = self.pool, storefront = c.principal.userID
        try await withDeadline(.seconds(5), "store the tracking token") {
            _ = try await pool.execute("INSERT INTO edge_tokens (token_sha256, order_id, region, storefront) VALUES ($1, $2, $3, $4)",
                                       [TrackingToken.hash(token), draft.id.rawValue, region.rawValue, storefront], purpose: "store a tracking token")
        }
        await audit.record(AuditEntry(c, kind: "order.place", order: draft.id.rawValue, region: region.rawValue, outcome: "ok",
                                      detail: "\(kind) at \(site); token \(TrackingToken.reference(token))…", eventAt: b.at.instant.epochSeconds))
        return EdgeCodec.encode("order.placed", OrderPlacedBody(order: draft.id.rawValue, token: token, outcome: kind, site: site.rawValue,
                                                                window: WireWindow(from: time(window.earliest), to: time(window.latest)),
                                                                eta: eta.map(time), courier: courier.map(EdgeNames.text)))
    }

    struct TokenTarget: Sendable { var order: OrderID; var region: RegionID; var storefront: String }

    /// The order a token names; `not_found` (the same answer for a malformed, unknown or guessed token).
    func token(_ token: String) async throws -> TokenTarget {
        guard TrackingToken.problem(token) == nil else { throw EdgeError(.notFound, "no order for this token", field: "token") }
        let pool = self.pool
        let rows = try await withDeadline(.seconds(5), "find a token") {
            try await pool.query("SELECT order_id, region, storefront FROM edge_tokens WHERE token_sha256 = $1", [TrackingToken.hash(token)],
                                 purpose: "find a tracking token")
        }
        guard let r = rows.first else { throw EdgeError(.notFound, "no order for this token", field: "token") }
        return TokenTarget(order: OrderID(try r.decode(0, as: String.self)), region: RegionID(try r.decode(1, as: String.self)),
                           storefront: try r.decode(2, as: String.self))
    }

    // MARK: - Helpers

    func orderID(_ text: String, field: String = "order") throws -> OrderID {
        guard EdgeNames.isIdentifier(text) else { throw EdgeError(.invalid, "not an order id: '\(text.prefix(40))'", field: field) }
        return OrderID(text)
    }

    func covered(_ region: String, _ p: EdgePrincipal) throws -> RegionID {
        let r = RegionID(region)
        guard cluster.configs.contains(where: { $0.region == r }) else { throw EdgeError(.notFound, "no region '\(region.prefix(40))'", field: "region") }
        guard p.covers(region: r) else { throw EdgeError(.forbidden, "\(p.userID) does not dispatch region \(region)", field: "region") }
        return r
    }

    func scopeText(_ s: EdgeScope) -> String {
        switch s {
        case .courier(let c): EdgeNames.text(c)
        case .site(let s): s.rawValue
        case .regions(let r): r.map { $0.map(\.rawValue).sorted().joined(separator: ",") } ?? "*"
        case .unscoped: ""
        }
    }

    func outcome<T>(_ r: Result<T, DispatchCommandError>) -> String {
        switch r {
        case .success: "ok"
        case .failure(let e): "refused: \(e.problem.rawValue)"
        }
    }
}
