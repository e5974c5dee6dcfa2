import Testing
import Geo
@testable import Fleet

func sample(_ k: OrderCommand.Kind) -> OrderCommand {
    switch k {
    case .accept: .accept
    case .allocate: .allocate("store-yeoksam")
    case .startPicking: .startPicking
    case .pack: .pack
    case .assign: .assign(.vehicle("van-7"))
    case .unassign: .unassign
    case .dispatch: .dispatch
    case .arrive: .arrive
    case .deliver: .deliver(DeliveryProof(kind: .photo, reference: "pod/1"))
    case .fail: .fail(.nobodyHome)
    case .returnItems: .returnItems
    case .cancel: .cancel(.customerRequest)
    case .markReadyForPickup: .markReadyForPickup
    case .handOver: .handOver
    case .markNoShow: .markNoShow
    }
}

@Suite struct OrderTransitionTableTests {
    let t0 = seoul(monday, 10)

    @Test func everyLegalTransitionSucceedsWithOneEvent() throws {
        for tr in OrderTransitions.table {
            let (to, events) = try tr.from.apply(sample(tr.command), order: "o1", at: t0).get()
            #expect(to == tr.to, "\(tr)")
            #expect(events.count == 1)
            #expect(events[0].from == tr.from && events[0].to == tr.to && events[0].order == "o1" && events[0].at == t0)
            #expect(events[0].type == OrderEvent.typeName(tr.command))
        }
    }

    @Test func everyUndeclaredPairIsRejectedNamingOrderStateAndCommand() {
        let legal = Set(OrderTransitions.table.map { "\($0.from)|\($0.command)" })
        var illegal = 0
        for s in OrderState.allCases {
            for k in OrderCommand.Kind.allCases where !legal.contains("\(s)|\(k)") {
                illegal += 1
                switch s.apply(sample(k), order: "o9", at: t0) {
                case .success: Issue.record("\(s) + \(k) was accepted")
                case .failure(let e):
                    #expect(e == OrderTransitionError(order: "o9", state: s, command: k, problem: .illegal))
                    #expect(e.description.contains("o9") && e.description.contains(s.rawValue) && e.description.contains(k.rawValue))
                }
            }
        }
        #expect(illegal + OrderTransitions.table.count == OrderState.allCases.count * OrderCommand.Kind.allCases.count)
    }

    @Test func terminalStatesAreExactlyTheEnds() {
        #expect(Set(OrderState.allCases.filter(\.isTerminal)) == [.delivered, .returned, .cancelled, .pickedUp])
    }

    @Test func nothingIsCancelledAfterDelivery() {
        for s in [OrderState.delivered, .pickedUp, .returned, .arrived] {
            #expect(OrderTransitions.target(from: s, .cancel) == nil)
        }
    }

    @Test func everyStateIsReachableFromCreated() {
        var seen: Set<OrderState> = [.created], frontier: [OrderState] = [.created]
        while let s = frontier.popLast() {
            for tr in OrderTransitions.table where tr.from == s && seen.insert(tr.to).inserted { frontier.append(tr.to) }
        }
        #expect(seen == Set(OrderState.allCases))
    }

    @Test func eventTypesAreStableAndDistinct() {
        let names = OrderCommand.Kind.allCases.map(OrderEvent.typeName)
        #expect(Set(names).count == names.count)
        #expect(OrderEvent.typeName(.dispatch) == "order.out_for_delivery")
        #expect(OrderEvent.typeName(.handOver) == "order.picked_up")
    }

    @Test func cancelAfterPickingRestocks() throws {
        let (_, e1) = try OrderState.packed.apply(.cancel(.customerRequest), order: "o", at: t0).get()
        #expect(e1[0].restock == true)
        let (_, e2) = try OrderState.accepted.apply(.cancel(.customerRequest), order: "o", at: t0).get()
        #expect(e2[0].restock == false)
        let (to, e3) = try OrderState.outForDelivery.apply(.cancel(.customerRequest), order: "o", at: t0).get()
        #expect(to == .failed && e3[0].failure == .cancelledAfterDispatch)
    }

    @Test func eventsRoundTripThroughJSONWithTheirTypeString() throws {
        let (_, e) = try OrderState.arrived.apply(.fail(.accessDenied), order: "o5", at: t0).get()
        let data = try JSONEncoder().encode(e[0])
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"type\":\"order.failed\"") && text.contains("\"failure\":\"accessDenied\""))
        #expect(try JSONDecoder().decode(OrderEvent.self, from: data) == e[0])
    }
}

import Foundation

@Suite struct OrderTests {
    let catalogue = Catalogue([
        CatalogueItem(sku: "milk-1l", name: "Milk 1 L", unitWeightGrams: 1_050, unitVolumeMillilitres: 1_100, zone: .chilled),
        CatalogueItem(sku: "dumplings", name: "Frozen dumplings", unitWeightGrams: 800, unitVolumeMillilitres: 1_500, zone: .frozen),
        CatalogueItem(sku: "ramyeon", name: "Ramyeon 5-pack", unitWeightGrams: 600, unitVolumeMillilitres: 2_500, zone: .ambient),
    ])
    let inGangnam = Coordinate(lat: 37.4979, lon: 127.0276)
    func locate(_ c: Coordinate) -> RegionID? { c.lat > 37.4 && c.lat < 37.6 ? gangnam : nil }
    func draft(_ lines: [OrderLine], product: Product = .dawn, at: Coordinate? = nil) -> OrderDraft {
        OrderDraft(id: "o1", lines: lines, destination: at ?? inGangnam, product: product)
    }
    func create(_ d: OrderDraft) throws(OrderValidationError) -> Order {
        try Order.create(d, at: seoul(monday, 20), catalogue: catalogue, locate: locate, configs: [gangnam: config])
    }

    @Test func validDraftComputesTotalsZoneAndPromise() throws {
        let o = try create(draft([OrderLine(sku: "milk-1l", quantity: 2), OrderLine(sku: "ramyeon", quantity: 1)]))
        #expect(o.weightGrams == 2_700 && o.volumeMillilitres == 4_700 && o.zone == .chilled)
        #expect(o.state == .created && o.region == gangnam && o.promise.latest == seoul(monday + 1, 7))
        #expect(o.createdEvent.type == "order.created")
    }

    @Test func rejectionsNameTheItem() {
        #expect(throws: OrderValidationError(order: "o1", problem: .nonPositiveQuantity(sku: "milk-1l", quantity: 0))) {
            try create(draft([OrderLine(sku: "milk-1l", quantity: 0)]))
        }
        #expect(throws: OrderValidationError(order: "o1", problem: .unknownSKU("caviar"))) {
            try create(draft([OrderLine(sku: "caviar", quantity: 1)]))
        }
        #expect(throws: OrderValidationError(order: "o1", problem: .noLines)) { try create(draft([])) }
        #expect(throws: OrderValidationError(order: "o1", problem: .duplicateLine("ramyeon"))) {
            try create(draft([OrderLine(sku: "ramyeon", quantity: 1), OrderLine(sku: "ramyeon", quantity: 2)]))
        }
        var neg = draft([OrderLine(sku: "ramyeon", quantity: 1)]); neg.weightGrams = -5
        #expect(throws: OrderValidationError(order: "o1", problem: .negativeWeight(-5))) { try create(neg) }
        var warm = draft([OrderLine(sku: "dumplings", quantity: 1)]); warm.zone = .chilled
        #expect(throws: OrderValidationError(order: "o1", problem: .zoneTooWarm(sku: "dumplings", needs: .frozen, given: .chilled))) { try create(warm) }
        let far = Coordinate(lat: 35.1, lon: 129.0)
        #expect(throws: OrderValidationError(order: "o1", problem: .outsideEveryRegion(far))) {
            try create(draft([OrderLine(sku: "ramyeon", quantity: 1)], at: far))
        }
        let nan = Coordinate(lat: .nan, lon: 0)
        do { _ = try create(draft([OrderLine(sku: "ramyeon", quantity: 1)], at: nan)); Issue.record("accepted") }
        catch { if case .invalidCoordinate = error.problem {} else { Issue.record("\(error)") } }
    }

    @Test func unpromisableProductIsAValidationError() {
        do { _ = try Order.create(draft([OrderLine(sku: "ramyeon", quantity: 1)], product: .quick), at: seoul(monday, 3),
                                  catalogue: catalogue, locate: locate, configs: [gangnam: config]); Issue.record("accepted") }
        catch { if case .cannotPromise(let p) = error.problem { #expect(p.product == .quick) } else { Issue.record("\(error)") } }
    }

    @Test func happyDeliveryPathAndAttempts() throws {
        var o = try create(draft([OrderLine(sku: "ramyeon", quantity: 1)]))
        let t = seoul(monday, 23)
        for c: OrderCommand in [.accept, .allocate("hub-1"), .startPicking, .pack, .assign(.vehicle("van-1")), .dispatch, .arrive,
                                .fail(.nobodyHome), .assign(.vehicle("van-2")), .dispatch, .arrive,
                                .deliver(DeliveryProof(kind: .pin, reference: "ok"))] {
            _ = try o.apply(c, at: t)
        }
        #expect(o.state == .delivered && o.attempts == 2 && o.courier == .vehicle("van-2") && o.site == "hub-1" && o.version == 12)
    }

    @Test func bopisPathRejectsVanCommandsAndDeliveryRejectsCounterCommands() throws {
        var b = try create(draft([OrderLine(sku: "ramyeon", quantity: 1)], product: .bopis))
        let t = seoul(monday, 20)
        for c: OrderCommand in [.accept, .allocate("store-1"), .startPicking, .pack] { _ = try b.apply(c, at: t) }
        #expect(throws: OrderTransitionError(order: "o1", state: .packed, command: .assign, problem: .wrongProduct(.bopis))) {
            try b.apply(.assign(.rider("r1")), at: t)
        }
        #expect(b.state == .packed && b.version == 4)
        _ = try b.apply(.markReadyForPickup, at: t)
        _ = try b.apply(.markNoShow, at: t)
        _ = try b.apply(.returnItems, at: t)
        #expect(b.state == .returned)

        var d = try create(draft([OrderLine(sku: "ramyeon", quantity: 1)]))
        for c: OrderCommand in [.accept, .allocate("hub-1"), .startPicking, .pack] { _ = try d.apply(c, at: t) }
        #expect(throws: OrderTransitionError.self) { try d.apply(.markReadyForPickup, at: t) }
    }
}

@Suite struct OrderProductRuleTests {
    func order(_ product: Product, in state: OrderState) -> Order {
        Order(id: "p1", lines: [OrderLine(sku: "x", quantity: 1)], weightGrams: 1, volumeMillilitres: 1, zone: .ambient,
              destination: Coordinate(lat: 37.5, lon: 127), region: gangnam, product: product,
              promise: PromiseWindow(product: product, earliest: seoul(monday, 0), latest: seoul(monday, 7)),
              createdAt: seoul(monday, 0), state: state, site: nil, courier: nil, failure: nil, attempts: 0, version: 0)
    }

    /// Every product × state × command: accepted exactly when the table allows it and the
    /// command fits the product; a rejected command leaves the order untouched.
    @Test func everyProductStateCommandCombination() {
        for product in Product.allCases {
            for s in OrderState.allCases {
                for k in OrderCommand.Kind.allCases {
                    var o = order(product, in: s)
                    let before = o
                    let fits = product == .bopis ? !Order.deliveryOnly.contains(k) : !Order.bopisOnly.contains(k)
                    let expected = fits ? OrderTransitions.target(from: s, k) : nil
                    do {
                        let events = try o.apply(sample(k), at: seoul(monday, 1))
                        #expect(expected == o.state && events.count == 1 && o.version == 1, "\(product) \(s) \(k)")
                    } catch {
                        #expect(expected == nil, "\(product) \(s) \(k) rejected: \(error)")
                        #expect(o == before)
                        #expect(error.problem == (fits ? .illegal : .wrongProduct(product)))
                    }
                }
            }
        }
    }
}
