/// The tables a wave plan is written to (one row per planned stop and per unassigned order), as
/// migrations in the shape `Storage.Migration` takes. Versions start at 100 so they never clash
/// with `ClusterSchema` (1…). Never edit an applied step: add a new one.
public enum WavePlanSchema {
    public typealias MigrationStep = (version: Int, name: String, sql: String)

    public static let migrations: [MigrationStep] = [
        (100, "wave_plans", """
            -- One row per planning run; kpis holds both variants' KPIs (optimised, baseline).
            CREATE TABLE wave_plans (
                plan_id      text PRIMARY KEY CHECK (plan_id <> ''),
                delivery_day date NOT NULL,
                seed         bigint NOT NULL,
                orders       integer NOT NULL CHECK (orders >= 0),
                created_at   timestamptz NOT NULL DEFAULT now(),
                kpis         jsonb NOT NULL
            );
            -- One row per stop: the van's seq-th delivery. variant 'optimised' is the plan that
            -- drives; 'baseline' is the greedy comparison. An order appears at most once per variant.
            CREATE TABLE planned_stops (
                plan_id       text NOT NULL REFERENCES wave_plans (plan_id) ON DELETE CASCADE,
                variant       text NOT NULL CHECK (variant IN ('optimised', 'baseline')),
                region        text NOT NULL,
                vehicle       text NOT NULL,
                seq           integer NOT NULL CHECK (seq >= 1),
                order_id      text NOT NULL,
                lat           double precision NOT NULL,
                lon           double precision NOT NULL,
                arrival       timestamptz NOT NULL,
                service_start timestamptz NOT NULL,
                departure     timestamptz NOT NULL,
                window_end    timestamptz NOT NULL,
                leg_m         integer NOT NULL CHECK (leg_m >= 0),
                PRIMARY KEY (plan_id, variant, vehicle, seq),
                UNIQUE (plan_id, variant, order_id),
                CHECK (arrival <= service_start AND service_start <= departure)
            );
            -- Orders no route serves, with the reason: never dropped silently.
            CREATE TABLE unassigned_orders (
                plan_id  text NOT NULL REFERENCES wave_plans (plan_id) ON DELETE CASCADE,
                variant  text NOT NULL CHECK (variant IN ('optimised', 'baseline')),
                region   text NOT NULL,
                order_id text NOT NULL,
                reason   text NOT NULL,
                PRIMARY KEY (plan_id, variant, order_id)
            );
            """),
    ]
}
