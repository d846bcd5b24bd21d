import Foundation
import LitmusJSON

extension RunTable {
    /// The schema version written into every file (`litmus.schema_version`).
    public static let schemaVersion = "1"

    /// Builds the table of a run that has started. A run without RunEnded is written with
    /// outcome `aborted` (the runs daemon closes orphans that way).
    public init(run: RunAccumulator) {
        self.init()
        let r = run.started ?? RunStarted(dutSerial: "")
        let outcome = run.ended?.outcome ?? .aborted
        let endedAt = run.endedAt ?? run.lastEventAt ?? run.startedAt

        // Fixed columns, in file order.
        let recordType = addColumn("record_type", .string)
        let sessionID = addColumn("session_id", .string)
        let runID = addColumn("run_id", .string)
        let runStartedAt = addColumn("run_started_at", .timestamp)
        let runEndedAt = addColumn("run_ended_at", .timestamp)
        let runOutcome = addColumn("run_outcome", .string)
        let runEndReason = addColumn("run_end_reason", .string)
        let runStrings: [(String, String?)] = [
            ("dut_serial", r.dutSerial), ("dut_part_number", r.dutPartNumber), ("dut_revision", r.dutRevision),
            ("dut_lot", r.dutLot), ("part_id", r.partID), ("part_name", r.partName), ("part_revision", r.partRevision),
            ("station_id", r.stationID ?? run.session?.stationID),
            ("station_name", r.stationName ?? run.session?.stationName),
            ("station_type", r.stationType ?? run.session?.stationType),
            ("station_location", r.stationLocation ?? run.session?.stationLocation),
            ("hostname", r.hostname ?? run.session?.hostname), ("operator_id", r.operatorID ?? run.session?.operatorID),
            ("operator_name", r.operatorName ?? run.session?.operatorName),
            ("fixture_id", r.fixtureID ?? run.session?.fixtureID), ("test_phase", r.testPhase), ("product", r.product),
            ("project", r.project), ("git_commit", r.gitCommit), ("git_branch", r.gitBranch), ("git_remote", r.gitRemote),
        ]
        let runStringColumns = runStrings.map { addColumn($0.0, .string) }
        let siteIndex = addColumn("site_index", .int64)
        let siteName = addColumn("site_name", .string)

        let stepName = addColumn("step_name", .string)
        let stepIndex = addColumn("step_index", .int64)
        let stepPath = addColumn("step_path", .string)
        let stepRetry = addColumn("step_retry", .int64)
        let stepDescription = addColumn("step_description", .string)
        let stepStartedAt = addColumn("step_started_at", .timestamp)
        let stepEndedAt = addColumn("step_ended_at", .timestamp)
        let stepOutcome = addColumn("step_outcome", .string)
        let stepError = addColumn("step_error", .string)
        let codeFile = addColumn("code_file", .string)
        let codeFunction = addColumn("code_function", .string)
        let codeLine = addColumn("code_line", .int64)

        let vectorIndex = addColumn("vector_index", .int64)
        let vectorRetry = addColumn("vector_retry", .int64)
        let vectorStartedAt = addColumn("vector_started_at", .timestamp)
        let vectorEndedAt = addColumn("vector_ended_at", .timestamp)
        let vectorOutcome = addColumn("vector_outcome", .string)
        let vectorError = addColumn("vector_error", .string)

        let mName = addColumn("measurement_name", .string)
        let mValue = addColumn("measurement_value", .double)
        let mUnit = addColumn("measurement_unit", .string)
        let mOutcome = addColumn("measurement_outcome", .string)
        let limitLow = addColumn("limit_low", .double)
        let limitHigh = addColumn("limit_high", .double)
        let limitNominal = addColumn("limit_nominal", .double)
        let comparator = addColumn("limit_comparator", .string)
        let characteristic = addColumn("characteristic_id", .string)
        let specRef = addColumn("spec_ref", .string)
        let dutPin = addColumn("dut_pin", .string)
        let fixtureConnection = addColumn("fixture_connection", .string)
        let instrumentRole = addColumn("instrument_role", .string)
        let instrumentResource = addColumn("instrument_resource", .string)
        let instrumentChannel = addColumn("instrument_channel", .string)
        let measuredAt = addColumn("measured_at", .timestamp)

        // Dynamic in_/out_ columns: names, units and one type per column over the whole run.
        let vectorsInOrder = run.vectors.sorted { $0.value.order < $1.value.order }
        var units: [(String, String)] = []
        var paramKinds: [String: ValueKinds] = [:]
        var paramUnits: [String: String] = [:]
        var paramOrder: [String] = []
        for (_, v) in vectorsInOrder {
            for p in (v.started?.params ?? []) + (v.ended?.params ?? []) {
                if paramKinds[p.name] == nil { paramOrder.append(p.name) }
                paramKinds[p.name, default: ValueKinds()].add(p.value)
                if paramUnits[p.name] == nil, let unit = p.unit { paramUnits[p.name] = unit }
            }
        }
        var inColumns: [String: Int] = [:]
        for name in paramOrder {
            let c = addUniqueColumn(RunTable.columnName(prefix: "in_", name), paramKinds[name]!.columnType)
            inColumns[name] = c
            if let unit = paramUnits[name] { units.append((columns[c].name, unit)) }
        }
        var observationKinds: [String: ValueKinds] = [:]
        var observationUnits: [String: String] = [:]
        var observationOrder: [String] = []
        for (o, _) in run.observations {
            let name = o.value.name
            if observationKinds[name] == nil { observationOrder.append(name) }
            observationKinds[name, default: ValueKinds()].add(o.value.value)
            if observationUnits[name] == nil, let unit = o.value.unit { observationUnits[name] = unit }
        }
        var outColumns: [String: Int] = [:]
        for name in observationOrder {
            let c = addUniqueColumn(RunTable.columnName(prefix: "out_", name), observationKinds[name]!.columnType)
            outColumns[name] = c
            if let unit = observationUnits[name] { units.append((columns[c].name, unit)) }
        }

        // Observations by scope.
        typealias StepKey = RunAccumulator.StepKey
        typealias VectorKey = RunAccumulator.VectorKey
        var runObservations: [NamedValue] = []
        var stepObservations: [StepKey: [NamedValue]] = [:]
        var vectorObservations: [VectorKey: [NamedValue]] = [:]
        let stepPathByIndex = Dictionary(
            run.steps.keys.map { ($0.index, $0.path) }, uniquingKeysWith: { first, _ in first })
        for (o, _) in run.observations {
            guard let si = o.stepIndex else {
                runObservations.append(o.value)
                continue
            }
            let path = o.stepPath ?? stepPathByIndex[si] ?? ""
            if let vi = o.vectorIndex {
                vectorObservations[VectorKey(stepIndex: si, stepPath: path, index: vi, retry: o.retry), default: []]
                    .append(o.value)
            } else {
                stepObservations[StepKey(index: si, path: path, retry: o.retry), default: []].append(o.value)
            }
        }

        // Measurements by scope; any scope without its own events still gets rows.
        var stepMeasurements: [StepKey: [Int]] = [:]
        var vectorMeasurements: [VectorKey: [Int]] = [:]
        var steps = run.steps
        var vectors = run.vectors
        var order = Int.max / 2
        // Consecutive measurements nearly always share a scope: group runs of them at once
        // instead of hashing each one's key.
        run.measurements.withUnsafeBufferPointer { ms in
            var i = 0
            while i < ms.count {
                let first = ms[i].event
                var j = i + 1
                while j < ms.count, ms[j].event.vectorIndex == first.vectorIndex, ms[j].event.retry == first.retry,
                    ms[j].event.stepIndex == first.stepIndex, ms[j].event.stepPath == first.stepPath
                {
                    j += 1
                }
                if let vi = first.vectorIndex {
                    let key = VectorKey(stepIndex: first.stepIndex, stepPath: first.stepPath, index: vi, retry: first.retry)
                    if vectors[key] == nil {
                        order += 1
                        vectors[key] = RunAccumulator.VectorRecord(order: order)
                    }
                    vectorMeasurements[key, default: []].append(contentsOf: i..<j)
                } else {
                    stepMeasurements[StepKey(index: first.stepIndex, path: first.stepPath, retry: first.retry), default: []]
                        .append(contentsOf: i..<j)
                }
                i = j
            }
        }
        for key in vectors.keys {
            // A vector's step row: the step attempt it ran in (the latest attempt when unknown).
            if !steps.keys.contains(where: { $0.index == key.stepIndex && $0.path == key.stepPath }) {
                order += 1
                steps[StepKey(index: key.stepIndex, path: key.stepPath, retry: 0)] = RunAccumulator.StepRecord(order: order)
            }
        }
        for key in stepMeasurements.keys where steps[key] == nil {
            order += 1
            steps[key] = RunAccumulator.StepRecord(order: order)
        }

        // The row plan: which step, vector and measurement each row shows (-1: none).
        struct Plan {
            var kinds: [String] = []
            var step: [Int32] = []
            var vector: [Int32] = []
            var measurement: [Int32] = []
            mutating func add(_ kind: String, _ s: Int, _ v: Int, _ m: Int) {
                kinds.append(kind)
                step.append(Int32(s))
                vector.append(Int32(v))
                measurement.append(Int32(m))
            }
        }
        var plan = Plan()
        let planned = 1 + steps.count + vectors.count + run.measurements.count
        plan.kinds.reserveCapacity(planned)
        plan.step.reserveCapacity(planned)
        plan.vector.reserveCapacity(planned)
        plan.measurement.reserveCapacity(planned)
        var stepList: [(key: StepKey, record: RunAccumulator.StepRecord)] = []
        var vectorList: [(key: VectorKey, record: RunAccumulator.VectorRecord)] = []
        plan.add("run", -1, -1, -1)
        var vectorsByStep: [StepKeyIndexPath: [(VectorKey, RunAccumulator.VectorRecord)]] = [:]
        for (vkey, v) in vectors.sorted(by: { $0.value.order < $1.value.order }) {
            vectorsByStep[StepKeyIndexPath(index: vkey.stepIndex, path: vkey.stepPath), default: []].append((vkey, v))
        }
        for (key, record) in steps.sorted(by: { $0.value.order < $1.value.order }) {
            let si = stepList.count
            stepList.append((key, record))
            plan.add("step", si, -1, -1)
            for i in stepMeasurements[key] ?? [] { plan.add("measurement", si, -1, i) }
            // Vectors belong to the step attempt that was running when they started; with
            // several attempts of a step, a vector goes with the attempt of the same retry
            // when there is one, else with the latest attempt.
            let attempts = steps.keys.filter { $0.index == key.index && $0.path == key.path }.map(\.retry)
            for (vkey, vector) in vectorsByStep[StepKeyIndexPath(index: key.index, path: key.path)] ?? [] {
                let owner = attempts.contains(vkey.retry) ? vkey.retry : (attempts.max() ?? 0)
                guard owner == key.retry else { continue }
                let vi = vectorList.count
                vectorList.append((vkey, vector))
                plan.add("vector", si, vi, -1)
                for i in vectorMeasurements[vkey] ?? [] { plan.add("measurement", si, vi, i) }
            }
        }
        rowCount = plan.kinds.count
        let rows = 0..<rowCount

        // Columns, each filled in one pass over the plan. The passes are independent: they
        // are collected here and run on all cores at the end.
        enum Filled {
            case strings([String], [Bool]), ints([Int64], [Bool]), doubles([Double], [Bool]), bools([Bool], [Bool])
        }
        var jobs: [(column: Int, fill: () -> Filled)] = []
        func column<T>(_ value: @escaping (Int) -> T?, _ empty: T, _ wrap: @escaping ([T], [Bool]) -> Filled) -> () -> Filled {
            {
                var values: [T] = []
                var valid: [Bool] = []
                values.reserveCapacity(rows.count)
                valid.reserveCapacity(rows.count)
                for row in rows {
                    let v = value(row)
                    values.append(v ?? empty)
                    valid.append(v != nil)
                }
                return wrap(values, valid)
            }
        }
        func strings(_ c: Int, _ value: @escaping (Int) -> String?) { jobs.append((c, column(value, "", Filled.strings))) }
        func ints(_ c: Int, _ value: @escaping (Int) -> Int64?) { jobs.append((c, column(value, 0, Filled.ints))) }
        func doubles(_ c: Int, _ value: @escaping (Int) -> Double?) { jobs.append((c, column(value, 0, Filled.doubles))) }
        func bools(_ c: Int, _ value: @escaping (Int) -> Bool?) { jobs.append((c, column(value, false, Filled.bools))) }
        /// A column whose row `r` is `values[index[r]]`, or null where `index[r] < 0`.
        func gather<T>(_ index: [Int32], _ values: [T?], _ empty: T, _ wrap: @escaping ([T], [Bool]) -> Filled) -> () -> Filled {
            {
                var out: [T] = []
                var valid: [Bool] = []
                out.reserveCapacity(index.count)
                valid.reserveCapacity(index.count)
                values.withUnsafeBufferPointer { source in
                    for k in index {
                        if k >= 0, let v = source[Int(k)] {
                            out.append(v)
                            valid.append(true)
                        } else {
                            out.append(empty)
                            valid.append(false)
                        }
                    }
                }
                return wrap(out, valid)
            }
        }
        func strings(_ c: Int, _ index: [Int32], _ values: [String?]) { jobs.append((c, gather(index, values, "", Filled.strings))) }
        func ints(_ c: Int, _ index: [Int32], _ values: [Int64?]) { jobs.append((c, gather(index, values, 0, Filled.ints))) }
        func doubles(_ c: Int, _ index: [Int32], _ values: [Double?]) { jobs.append((c, gather(index, values, 0, Filled.doubles))) }
        func repeated(_ c: Int, string v: String?) {
            let n = rows.count
            jobs.append((c, { .strings(Array(repeating: v ?? "", count: n), Array(repeating: v != nil, count: n)) }))
        }
        func repeated(_ c: Int, int v: Int64?) {
            let n = rows.count
            jobs.append((c, { .ints(Array(repeating: v ?? 0, count: n), Array(repeating: v != nil, count: n)) }))
        }

        // Run scope: one value on every row.
        columns[recordType].strings = plan.kinds
        columns[recordType].valid = Array(repeating: true, count: rowCount)
        repeated(sessionID, string: (run.sessionID ?? UUID()).uuidString.lowercased())
        repeated(runID, string: run.runID.uuidString.lowercased())
        repeated(runStartedAt, int: run.startedAt?.microseconds)
        repeated(runEndedAt, int: endedAt?.microseconds)
        repeated(runOutcome, string: outcome.rawValue)
        repeated(runEndReason, string: run.ended?.reason ?? (run.ended == nil ? "no run.ended event" : nil))
        for (c, (_, v)) in zip(runStringColumns, runStrings) { repeated(c, string: v) }
        repeated(siteIndex, int: r.siteIndex)
        repeated(siteName, string: r.siteName)

        // Step scope. Values are gathered per step (and per vector, per measurement) first,
        // so filling a column never copies a whole record.
        var stepNames: [String] = [], stepPaths: [String] = [], stepDescriptions: [String?] = []
        var stepOutcomes: [String?] = [], stepErrors: [String?] = [], codeFiles: [String?] = []
        var codeFunctions: [String?] = [], stepIndexes: [Int64] = [], stepRetries: [Int64] = []
        var stepStarts: [Int64?] = [], stepEnds: [Int64?] = [], codeLines: [Int64?] = []
        for (key, record) in stepList {
            stepNames.append(record.started?.name ?? record.ended?.name ?? key.path)
            stepPaths.append(key.path)
            stepDescriptions.append(record.started?.description)
            stepOutcomes.append(record.ended?.outcome.rawValue ?? (record.started == nil ? nil : Outcome.aborted.rawValue))
            stepErrors.append(record.ended?.error)
            codeFiles.append(record.started?.code?.file)
            codeFunctions.append(record.started?.code?.function)
            stepIndexes.append(key.index)
            stepRetries.append(key.retry)
            stepStarts.append(record.startedAt?.microseconds)
            stepEnds.append(record.endedAt?.microseconds)
            codeLines.append(record.started?.code?.line)
        }
        let ps = plan.step, pv = plan.vector, pm = plan.measurement
        strings(stepName, ps, stepNames)
        ints(stepIndex, ps, stepIndexes)
        strings(stepPath, ps, stepPaths)
        ints(stepRetry, ps, stepRetries)
        strings(stepDescription, ps, stepDescriptions)
        ints(stepStartedAt, ps, stepStarts)
        ints(stepEndedAt, ps, stepEnds)
        strings(stepOutcome, ps, stepOutcomes)
        strings(stepError, ps, stepErrors)
        strings(codeFile, ps, codeFiles)
        strings(codeFunction, ps, codeFunctions)
        ints(codeLine, ps, codeLines)

        // Vector scope.
        var vectorIndexes: [Int64] = [], vectorRetries: [Int64] = [], vectorStarts: [Int64?] = []
        var vectorEnds: [Int64?] = [], vectorOutcomes: [String?] = [], vectorErrors: [String?] = []
        for (key, record) in vectorList {
            vectorIndexes.append(key.index)
            vectorRetries.append(key.retry)
            vectorStarts.append(record.startedAt?.microseconds)
            vectorEnds.append(record.endedAt?.microseconds)
            vectorOutcomes.append(record.ended?.outcome.rawValue ?? (record.started == nil ? nil : Outcome.aborted.rawValue))
            vectorErrors.append(record.ended?.error)
        }
        ints(vectorIndex, pv, vectorIndexes)
        ints(vectorRetry, pv, vectorRetries)
        ints(vectorStartedAt, pv, vectorStarts)
        ints(vectorEndedAt, pv, vectorEnds)
        strings(vectorOutcome, pv, vectorOutcomes)
        strings(vectorError, pv, vectorErrors)

        // Measurements.
        let n = run.measurements.count
        var mNames: [String] = [], mValues: [Double?] = [], mUnits: [String?] = [], mOutcomes: [String] = []
        var lows: [Double?] = [], highs: [Double?] = [], nominals: [Double?] = [], comparators: [String?] = []
        var characteristics: [String?] = [], specRefs: [String?] = [], pins: [String?] = [], connections: [String?] = []
        var roles: [String?] = [], resources: [String?] = [], channels: [String?] = [], times: [Int64] = []
        mNames.reserveCapacity(n)
        mValues.reserveCapacity(n)
        mUnits.reserveCapacity(n)
        mOutcomes.reserveCapacity(n)
        lows.reserveCapacity(n)
        highs.reserveCapacity(n)
        nominals.reserveCapacity(n)
        comparators.reserveCapacity(n)
        characteristics.reserveCapacity(n)
        specRefs.reserveCapacity(n)
        pins.reserveCapacity(n)
        connections.reserveCapacity(n)
        roles.reserveCapacity(n)
        resources.reserveCapacity(n)
        channels.reserveCapacity(n)
        times.reserveCapacity(n)
        run.measurements.withUnsafeBufferPointer { all in
            for i in all.indices {
                mNames.append(all[i].event.name)
                mValues.append(all[i].event.value)
                mUnits.append(all[i].event.unit)
                mOutcomes.append(all[i].event.outcome.rawValue)
                lows.append(all[i].event.limitLow)
                highs.append(all[i].event.limitHigh)
                nominals.append(all[i].event.limitNominal)
                comparators.append(all[i].event.comparator?.rawValue)
                characteristics.append(all[i].event.characteristicID)
                specRefs.append(all[i].event.specRef)
                pins.append(all[i].event.dutPin)
                connections.append(all[i].event.fixtureConnection)
                roles.append(all[i].event.instrumentRole)
                resources.append(all[i].event.instrumentResource)
                channels.append(all[i].event.instrumentChannel)
                times.append(all[i].at.microseconds)
            }
        }
        strings(mName, pm, mNames)
        doubles(mValue, pm, mValues)
        strings(mUnit, pm, mUnits)
        strings(mOutcome, pm, mOutcomes)
        doubles(limitLow, pm, lows)
        doubles(limitHigh, pm, highs)
        doubles(limitNominal, pm, nominals)
        strings(comparator, pm, comparators)
        strings(characteristic, pm, characteristics)
        strings(specRef, pm, specRefs)
        strings(dutPin, pm, pins)
        strings(fixtureConnection, pm, connections)
        strings(instrumentRole, pm, roles)
        strings(instrumentResource, pm, resources)
        strings(instrumentChannel, pm, channels)
        ints(measuredAt, pm, times)

        // in_* on vector rows and the measurements in them; out_* on the rows of the scope
        // where observed and the measurements directly in it.
        let vectorCells: [[Int: JSONValue]] = vectorList.map { key, record in
            var cells: [Int: JSONValue] = [:]
            for p in (record.started?.params ?? []) + (record.ended?.params ?? []) { if let c = inColumns[p.name] { cells[c] = p.value } }
            for o in vectorObservations[key] ?? [] { if let c = outColumns[o.name] { cells[c] = o.value } }
            return cells
        }
        let stepCells: [[Int: JSONValue]] = stepList.map { key, _ in
            var cells: [Int: JSONValue] = [:]
            for o in stepObservations[key] ?? [] { if let c = outColumns[o.name] { cells[c] = o.value } }
            return cells
        }
        var runCells: [Int: JSONValue] = [:]
        for o in runObservations { if let c = outColumns[o.name] { runCells[c] = o.value } }
        let dynamicColumns = Array(Set(inColumns.values).union(outColumns.values)).sorted()
        for c in dynamicColumns {
            let isInput = inColumns.values.contains(c)
            func cell(_ row: Int) -> JSONValue? {
                if pv[row] >= 0 { return vectorCells[Int(pv[row])][c] }
                if isInput { return nil }
                if ps[row] >= 0 { return stepCells[Int(ps[row])][c] }
                return runCells[c]
            }
            switch columns[c].type {
            case .double: doubles(c) { cell($0)?.doubleValue }
            case .bool: bools(c) { cell($0)?.boolValue }
            default: strings(c) { cell($0).flatMap(RunTable.text) }
            }
        }

        // Run the column passes on all cores, then keep their results.
        let results = UnsafeMutableBufferPointer<Filled?>.allocate(capacity: jobs.count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        // Each pass reads only values that no longer change and writes only its own slot.
        let shared = UncheckedSendable((jobs, results))
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            shared.value.1[i] = shared.value.0[i].fill()
        }
        for (i, job) in jobs.enumerated() {
            switch results[i]! {
            case .strings(let v, let ok):
                columns[job.column].strings = v
                columns[job.column].valid = ok
            case .ints(let v, let ok):
                columns[job.column].ints = v
                columns[job.column].valid = ok
            case .doubles(let v, let ok):
                columns[job.column].doubles = v
                columns[job.column].valid = ok
            case .bools(let v, let ok):
                columns[job.column].bools = v
                columns[job.column].valid = ok
            }
        }

        // File metadata.
        var runJSON = JSONBuffer()
        EventCoding.encodeRunSummary(run, into: &runJSON)
        var instrumentsJSON = JSONBuffer()
        instrumentsJSON.beginArray()
        for i in run.instruments {
            instrumentsJSON.beginObject()
            EventCoding.encodeBody(.instrumentConnected(i), into: &instrumentsJSON)
            instrumentsJSON.endObject()
        }
        instrumentsJSON.endArray()
        var patchesJSON = JSONBuffer()
        patchesJSON.beginArray()
        for p in run.mockPatches {
            patchesJSON.beginObject()
            EventCoding.encodeBody(.mockPatchApplied(p), into: &patchesJSON)
            patchesJSON.endObject()
        }
        patchesJSON.endArray()
        var unitsJSON = JSONBuffer()
        unitsJSON.beginObject()
        for (k, v) in units { unitsJSON.member(k, v) }
        unitsJSON.endObject()
        metadata = [
            ("litmus.schema_version", RunTable.schemaVersion),
            ("litmus.run", String(decoding: runJSON.bytes, as: UTF8.self)),
            ("litmus.instruments", String(decoding: instrumentsJSON.bytes, as: UTF8.self)),
            ("litmus.mock_patches", String(decoding: patchesJSON.bytes, as: UTF8.self)),
            ("litmus.mocked", run.instruments.contains(where: \.mocked) || !run.mockPatches.isEmpty ? "true" : "false"),
            ("litmus.units", String(decoding: unitsJSON.bytes, as: UTF8.self)),
        ]
    }

    private mutating func addUniqueColumn(_ name: String, _ type: ColumnType) -> Int {
        var candidate = name
        var n = 2
        while index[candidate] != nil {
            candidate = "\(name)_\(n)"
            n += 1
        }
        return addColumn(candidate, type)
    }
}

private struct StepKeyIndexPath: Hashable {
    var index: Int64
    var path: String
}

extension EventCoding {
    /// The run's identity for file metadata: RunStarted's fields, the metadata as it stood at
    /// the end, the outcome and times.
    static func encodeRunSummary(_ run: RunAccumulator, into j: inout JSONBuffer) {
        j.beginObject()
        j.uuidField("run_id", run.runID)
        if let s = run.sessionID {
            j.uuidField("session_id", s)
        }
        if let started = run.started {
            var copy = started
            copy.metadata = run.metadata
            encodeBody(.runStarted(copy), into: &j)
        }
        if let t = run.startedAt {
            j.timestampField("started_at", t)
        }
        if let t = run.endedAt ?? run.lastEventAt {
            j.timestampField("ended_at", t)
        }
        j.field("outcome", (run.ended?.outcome ?? .aborted).rawValue)
        j.field("end_reason", run.ended?.reason)
        j.endObject()
    }
}
