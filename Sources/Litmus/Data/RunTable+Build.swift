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
        let stepRole = addColumn("step_role", .string)
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
        let isFinalAttempt = addColumn("is_final_attempt", .bool)

        let mName = addColumn("measurement_name", .string)
        let mValue = addColumn("measurement_value", .double)
        let mUnit = addColumn("measurement_unit", .string)
        let mOutcome = addColumn("measurement_outcome", .string)
        let limitLow = addColumn("limit_low", .double)
        let limitHigh = addColumn("limit_high", .double)
        let limitNominal = addColumn("limit_nominal", .double)
        let limitTolerance = addColumn("limit_tolerance", .double)
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
        var units: [(String, String)] = []
        var params = NameSlots()
        var paramKinds: [ValueKinds] = []
        var paramUnits: [String?] = []
        run.vectors.withUnsafeBufferPointer { vectors in
            for v in vectors.indices {
                forEachParam(vectors[v].started?.params, vectors[v].ended?.params) { position, p in
                    let slot = params.slot(p.name, position: position)
                    if slot == paramKinds.count {
                        paramKinds.append(ValueKinds())
                        paramUnits.append(nil)
                    }
                    paramKinds[slot].add(p.value)
                    if paramUnits[slot] == nil, let unit = p.unit { paramUnits[slot] = unit }
                }
            }
        }
        let inColumns = params.names.indices.map { slot in
            addUniqueColumn(RunTable.columnName(prefix: "in_", params.names[slot]), paramKinds[slot].columnType)
        }
        for (slot, c) in inColumns.enumerated() {
            if let unit = paramUnits[slot] { units.append((columns[c].name, unit)) }
        }
        var observed = NameSlots()
        var observationKinds: [ValueKinds] = []
        var observationUnits: [String?] = []
        for (o, _) in run.observations {
            let slot = observed.slot(o.value.name, position: 0)
            if slot == observationKinds.count {
                observationKinds.append(ValueKinds())
                observationUnits.append(nil)
            }
            observationKinds[slot].add(o.value.value)
            if observationUnits[slot] == nil, let unit = o.value.unit { observationUnits[slot] = unit }
        }
        let outColumns = observed.names.indices.map { slot in
            addUniqueColumn(RunTable.columnName(prefix: "out_", observed.names[slot]), observationKinds[slot].columnType)
        }
        for (slot, c) in outColumns.enumerated() {
            if let unit = observationUnits[slot] { units.append((columns[c].name, unit)) }
        }

        // Measurement values, column by column, and the scopes they belong to.
        let measurements = run.measurements

        // Steps and vectors: the run's own, in order of their first event, then those that
        // measurements refer to without events of their own, in order of first reference.
        var steps = run.steps
        var stepPositions = run.stepPositions
        var vectors = run.vectors
        var vectorPositions = run.vectorPositions
        var vectorRanges = RangeLists(scopes: vectors.count)
        var stepRanges = RangeLists(scopes: steps.count)
        var stepScoped: [(key: RunAccumulator.StepKey, range: Range<Int>)] = []
        var next = 0  // the vector after the previous group's: where the next group usually is
        for s in measurements.groups {
            guard let vi = s.vectorIndex else {
                stepScoped.append((RunAccumulator.StepKey(index: s.stepIndex, path: s.stepPath, retry: s.retry), s.range))
                continue
            }
            let key = RunAccumulator.VectorKey(stepIndex: s.stepIndex, stepPath: s.stepPath, index: vi, retry: s.retry)
            let position: Int
            if next < vectors.count, vectors.withUnsafeBufferPointer({ $0[next].key == key }) {
                position = next
            } else if let known = vectorPositions[key] {
                position = known
            } else {
                position = vectors.count
                vectors.append(RunAccumulator.VectorRecord(key: key))
                vectorPositions[key] = position
                vectorRanges.addScope()
            }
            vectorRanges.add(s.range, to: position)
            next = position + 1
        }
        // Every vector's step (the latest attempt when the vector's own is unknown), then every
        // step of a step-scope measurement, gets a row.
        var attempts = StepAttempts(steps)
        let vectorSteps = vectors.withUnsafeBufferPointer { vectors in
            vectors.indices.map { (index: vectors[$0].key.stepIndex, path: vectors[$0].key.stepPath) }
        }
        for step in vectorSteps where !attempts.has(index: step.index, path: step.path) {
            let key = RunAccumulator.StepKey(index: step.index, path: step.path, retry: 0)
            attempts.add(key, position: steps.count)
            stepPositions[key] = steps.count
            steps.append(RunAccumulator.StepRecord(key: key))
            stepRanges.addScope()
        }
        for (key, range) in stepScoped {
            let position: Int
            if let known = stepPositions[key] {
                position = known
            } else {
                position = steps.count
                attempts.add(key, position: position)
                stepPositions[key] = position
                steps.append(RunAccumulator.StepRecord(key: key))
                stepRanges.addScope()
            }
            stepRanges.add(range, to: position)
        }

        // Vectors belong to the step attempt that was running when they started; with several
        // attempts of a step, a vector goes with the attempt of the same retry when there is
        // one, else with the latest attempt.
        var vectorsOfStep = [[Int32]](repeating: [], count: steps.count)
        vectors.withUnsafeBufferPointer { vectors in
            for v in vectors.indices {
                let key = vectors[v].key
                vectorsOfStep[attempts.owner(index: key.stepIndex, path: key.stepPath, retry: key.retry)].append(Int32(v))
            }
        }

        // Final attempts: a vector attempt is final when no attempt of the same vector (step
        // path and vector index) has a higher retry, a step attempt likewise among the attempts
        // of its path. Equal retries are not retries of each other (two harnesses may run a step
        // of one name): each is final.
        struct VectorIdentity: Hashable {
            var path: String
            var index: Int64

            // Like the accumulator's keys: hash the number only (equality still compares the path).
            func hash(into hasher: inout Hasher) { hasher.combine(index) }
        }
        var lastVectorRetry: [VectorIdentity: Int64] = [:]
        var lastStepRetry: [String: Int64] = [:]
        vectors.withUnsafeBufferPointer { vectors in
            for v in vectors.indices {
                let key = vectors[v].key
                let id = VectorIdentity(path: key.stepPath, index: key.index)
                lastVectorRetry[id] = max(lastVectorRetry[id] ?? key.retry, key.retry)
            }
        }
        for step in steps { lastStepRetry[step.key.path] = max(lastStepRetry[step.key.path] ?? step.key.retry, step.key.retry) }
        let vectorIsFinal = vectors.withUnsafeBufferPointer { vectors in
            vectors.indices.map { v in
                vectors[v].key.retry == lastVectorRetry[VectorIdentity(path: vectors[v].key.stepPath, index: vectors[v].key.index)]
            }
        }
        let stepIsFinal = steps.map { $0.key.retry == lastStepRetry[$0.key.path] }

        // The row plan: the kind of each row and which step, vector and measurement it shows
        // (-1: none). Rows: the run, then per step its row, its own measurements, and per
        // vector the vector's row and its measurements.
        rowCount = 1 + steps.count + vectors.count + measurements.rows.count
        let n = rowCount
        var kinds = [Int32](repeating: 0, count: n)
        var ps = [Int32](repeating: -1, count: n)
        var pv = [Int32](repeating: -1, count: n)
        var pm = [Int32](repeating: -1, count: n)
        kinds.withUnsafeMutableBufferPointer { kinds in
            ps.withUnsafeMutableBufferPointer { ps in
                pv.withUnsafeMutableBufferPointer { pv in
                    pm.withUnsafeMutableBufferPointer { pm in
                        var row = 1
                        for s in steps.indices {
                            kinds[row] = RecordType.step
                            ps[row] = Int32(s)
                            row += 1
                            for range in stepRanges.ranges(of: s) {
                                for i in range {
                                    kinds[row] = RecordType.measurement
                                    ps[row] = Int32(s)
                                    pm[row] = Int32(i)
                                    row += 1
                                }
                            }
                            for v in vectorsOfStep[s] {
                                kinds[row] = RecordType.vector
                                ps[row] = Int32(s)
                                pv[row] = v
                                row += 1
                                for range in vectorRanges.ranges(of: Int(v)) {
                                    for i in range {
                                        kinds[row] = RecordType.measurement
                                        ps[row] = Int32(s)
                                        pv[row] = v
                                        pm[row] = Int32(i)
                                        row += 1
                                    }
                                }
                            }
                        }
                        precondition(row == n, "the row plan covers every row")
                    }
                }
            }
        }

        // Columns, each filled in one pass over the plan. The passes are independent: they
        // are collected here and run on all cores at the end.
        var jobs: [(column: Int, fill: () -> Filled)] = []
        func ints(_ c: Int, _ plan: [Int32], _ values: [Int64?]) {
            jobs.append((c, { let (v, ok) = values.withUnsafeBufferPointer { gather(plan, $0, 0) }; return .ints(v, ok) }))
        }
        func strings(_ c: Int, _ plan: [Int32], _ values: [String?]) {
            jobs.append((c, {
                let scoped = DictionaryStrings(values)
                return .strings(scoped.values, scoped.indices.withUnsafeBufferPointer { gatherIndices(plan, $0) })
            }))
        }
        // Run-scope columns share their arrays: every row holds the one value (index 0), or
        // every row is null.
        let allValues = [Int32](repeating: 0, count: n), allNull = [Int32](repeating: -1, count: n)
        let allValid = [Bool](repeating: true, count: n), noneValid = [Bool](repeating: false, count: n)
        func repeated(_ c: Int, string v: String?) {
            columns[c].stringValues = v.map { [$0] } ?? []
            columns[c].stringIndices = v == nil ? allNull : allValues
        }
        func repeated(_ c: Int, int v: Int64?) {
            columns[c].ints = Array(repeating: v ?? 0, count: n)
            columns[c].flags = v == nil ? noneValid : allValid
        }
        /// A measurement column: row `r` shows measurement `pm[r]`'s value.
        func measurementStrings(_ c: Int, _ k: Int) {
            let offset = MemoryLayout<MeasurementColumns.Row>.offset(of: \.strings)! + k * MemoryLayout<Int32>.stride
            jobs.append((c, {
                .strings(measurements.strings[k].values, gatherMeasurements(pm, measurements.rows, offset, Int32(-1)) { $0 })
            }))
        }
        func measurementDoubles(_ c: Int, _ bit: UInt8, _ field: KeyPath<MeasurementColumns.Row, Double>) {
            let offset = MemoryLayout<MeasurementColumns.Row>.offset(of: field)!
            let present = MemoryLayout<MeasurementColumns.Row>.offset(of: \.present)!
            jobs.append((c, {
                let (v, ok) = gatherMeasurements(pm, measurements.rows, offset, present: present, bit: bit, as: Double.self)
                return .doubles(v, ok)
            }))
        }

        // Run scope: one value on every row.
        columns[recordType].stringValues = RecordType.names
        columns[recordType].stringIndices = kinds
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
        strings(stepName, ps, steps.map { $0.started?.name ?? $0.ended?.name ?? $0.key.path })
        ints(stepIndex, ps, steps.map { $0.key.index })
        strings(stepPath, ps, steps.map { $0.key.path })
        ints(stepRetry, ps, steps.map { $0.key.retry })
        strings(stepDescription, ps, steps.map { $0.started?.description })
        strings(stepRole, ps, steps.map { $0.started?.role })
        ints(stepStartedAt, ps, steps.map { $0.startedAt?.microseconds })
        ints(stepEndedAt, ps, steps.map { $0.endedAt?.microseconds })
        strings(stepOutcome, ps, steps.map { $0.ended?.outcome.rawValue ?? ($0.started == nil ? nil : Outcome.aborted.rawValue) })
        strings(stepError, ps, steps.map { $0.ended?.error })
        strings(codeFile, ps, steps.map { $0.started?.code?.file })
        strings(codeFunction, ps, steps.map { $0.started?.code?.function })
        ints(codeLine, ps, steps.map { $0.started?.code?.line })

        // Vector scope.
        var vectorIndexes: [Int64?] = [], vectorRetries: [Int64?] = [], vectorStarts: [Int64?] = []
        var vectorEnds: [Int64?] = [], vectorOutcomes: [String?] = [], vectorErrors: [String?] = []
        vectorIndexes.reserveCapacity(vectors.count)
        vectorRetries.reserveCapacity(vectors.count)
        vectorStarts.reserveCapacity(vectors.count)
        vectorEnds.reserveCapacity(vectors.count)
        vectorOutcomes.reserveCapacity(vectors.count)
        vectorErrors.reserveCapacity(vectors.count)
        vectors.withUnsafeBufferPointer { vectors in
            for v in vectors.indices {
                vectorIndexes.append(vectors[v].key.index)
                vectorRetries.append(vectors[v].key.retry)
                vectorStarts.append(vectors[v].startedAt?.microseconds)
                vectorEnds.append(vectors[v].endedAt?.microseconds)
                vectorOutcomes.append(
                    vectors[v].ended?.outcome.rawValue ?? (vectors[v].started == nil ? nil : Outcome.aborted.rawValue))
                vectorErrors.append(vectors[v].ended?.error)
            }
        }
        ints(vectorIndex, pv, vectorIndexes)
        ints(vectorRetry, pv, vectorRetries)
        ints(vectorStartedAt, pv, vectorStarts)
        ints(vectorEndedAt, pv, vectorEnds)
        strings(vectorOutcome, pv, vectorOutcomes)
        strings(vectorError, pv, vectorErrors)
        // The run row, every step and vector row and every measurement: whether it belongs to
        // the final attempt (a measurement in a vector goes with its vector, one at step scope
        // with its step).
        var finals = [Bool](repeating: true, count: n)
        for row in 1..<n {
            finals[row] = pv[row] >= 0 ? vectorIsFinal[Int(pv[row])] : stepIsFinal[Int(ps[row])]
        }
        columns[isFinalAttempt].bools = finals
        columns[isFinalAttempt].flags = allValid

        // Measurements.
        for (c, k) in [
            (mName, MeasurementColumns.name), (mUnit, MeasurementColumns.unit), (mOutcome, MeasurementColumns.outcome),
            (comparator, MeasurementColumns.comparator), (characteristic, MeasurementColumns.characteristic),
            (specRef, MeasurementColumns.specRef), (dutPin, MeasurementColumns.pin),
            (fixtureConnection, MeasurementColumns.connection), (instrumentRole, MeasurementColumns.role),
            (instrumentResource, MeasurementColumns.resource), (instrumentChannel, MeasurementColumns.channel),
        ] {
            measurementStrings(c, k)
        }
        measurementDoubles(mValue, 1, \.value)
        measurementDoubles(limitLow, 2, \.low)
        measurementDoubles(limitHigh, 4, \.high)
        measurementDoubles(limitNominal, 8, \.nominal)
        measurementDoubles(limitTolerance, 16, \.tolerance)
        let timeOffset = MemoryLayout<MeasurementColumns.Row>.offset(of: \.time)!
        jobs.append((measuredAt, {
            let (v, ok) = gatherMeasurements(pm, measurements.rows, timeOffset, present: nil, bit: 0, as: Int64.self)
            return .ints(v, ok)
        }))

        // in_* on vector rows and the measurements in them: per vector, its parameters
        // (vector.ended's after vector.started's: later values win).
        var inValues = [[JSONValue?]](repeating: Array(repeating: nil, count: vectors.count), count: inColumns.count)
        vectors.withUnsafeBufferPointer { vectors in
            for v in vectors.indices {
                forEachParam(vectors[v].started?.params, vectors[v].ended?.params) { i, p in
                    inValues[params.slot(p.name, position: i)][v] = p.value
                }
            }
        }
        for (slot, c) in inColumns.enumerated() {
            dynamic(c, columns[c].type, inValues[slot], pv, &jobs)
        }

        // out_* on the rows of the scope where observed and the measurements directly in it.
        if !outColumns.isEmpty {
            let stepPathByIndex = Dictionary(
                run.steps.map { ($0.key.index, $0.key.path) }, uniquingKeysWith: { first, _ in first })
            var vectorOut = [[JSONValue?]](repeating: Array(repeating: nil, count: vectors.count), count: outColumns.count)
            var stepOut = [[JSONValue?]](repeating: Array(repeating: nil, count: steps.count), count: outColumns.count)
            var runOut = [JSONValue?](repeating: nil, count: outColumns.count)
            for (o, _) in run.observations {
                let slot = observed.slot(o.value.name, position: 0)
                guard let si = o.stepIndex else {
                    runOut[slot] = o.value.value
                    continue
                }
                let path = o.stepPath ?? stepPathByIndex[si] ?? ""
                if let vi = o.vectorIndex {
                    let key = RunAccumulator.VectorKey(stepIndex: si, stepPath: path, index: vi, retry: o.retry)
                    if let position = vectorPositions[key] { vectorOut[slot][position] = o.value.value }
                } else if let position = stepPositions[RunAccumulator.StepKey(index: si, path: path, retry: o.retry)] {
                    stepOut[slot][position] = o.value.value
                }
            }
            for (slot, c) in outColumns.enumerated() {
                // A row shows its vector's value, else (outside vectors) its step's, else the run's.
                var cells = vectorOut[slot]
                cells += stepOut[slot]
                cells.append(runOut[slot])
                let vectorCount = Int32(vectors.count), stepCount = Int32(steps.count)
                var plan = [Int32](repeating: 0, count: n)
                for row in 0..<n {
                    plan[row] = pv[row] >= 0 ? pv[row] : ps[row] >= 0 ? vectorCount + ps[row] : vectorCount + stepCount
                }
                dynamic(c, columns[c].type, cells, plan, &jobs)
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
            case .strings(let values, let indices):
                columns[job.column].stringValues = values
                columns[job.column].stringIndices = indices
            case .ints(let v, let ok):
                columns[job.column].ints = v
                columns[job.column].flags = ok
            case .doubles(let v, let ok):
                columns[job.column].doubles = v
                columns[job.column].flags = ok
            case .bools(let v, let ok):
                columns[job.column].bools = v
                columns[job.column].flags = ok
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
        addDiagnostics(run.diagnostics)  // RunDiagnostic.swift
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

// MARK: - Building blocks

/// A filled column: its values (strings in dictionary form) and, for other types, validity.
private enum Filled {
    case strings([String], [Int32]), ints([Int64], [Bool]), doubles([Double], [Bool]), bools([Bool], [Bool])
}

/// The `record_type` values, as indices into ``names``.
private enum RecordType {
    static let names = ["run", "step", "vector", "measurement"]
    static let step: Int32 = 1
    static let vector: Int32 = 2
    static let measurement: Int32 = 3
}

/// A column whose row `r` is `values[plan[r]]`, or null where `plan[r] < 0` or the value is nil.
private func gather<T>(_ plan: [Int32], _ values: UnsafeBufferPointer<T?>, _ empty: T) -> ([T], [Bool]) {
    var out = [T](repeating: empty, count: plan.count)
    var valid = [Bool](repeating: false, count: plan.count)
    plan.withUnsafeBufferPointer { plan in
        out.withUnsafeMutableBufferPointer { out in
            valid.withUnsafeMutableBufferPointer { valid in
                for row in plan.indices where plan[row] >= 0 {
                    if let v = values[Int(plan[row])] {
                        out[row] = v
                        valid[row] = true
                    }
                }
            }
        }
    }
    return (out, valid)
}

/// Per row `r`, the `T` at byte `offset` of measurement `rows[plan[r]]` (read in place),
/// transformed by `value`; `empty` where `plan[r] < 0`.
private func gatherMeasurements<T, U>(
    _ plan: [Int32], _ rows: [MeasurementColumns.Row], _ offset: Int, _ empty: U, _ value: (T) -> U
) -> [U] {
    var out = [U](repeating: empty, count: plan.count)
    let stride = MemoryLayout<MeasurementColumns.Row>.stride
    plan.withUnsafeBufferPointer { plan in
        rows.withUnsafeBytes { rows in
            out.withUnsafeMutableBufferPointer { out in
                for row in plan.indices where plan[row] >= 0 {
                    out[row] = value(rows.load(fromByteOffset: Int(plan[row]) &* stride &+ offset, as: T.self))
                }
            }
        }
    }
    return out
}

/// A measurement column of numbers: per row `r`, the `T` at byte `offset` of measurement
/// `rows[plan[r]]` (read in place), or null where `plan[r] < 0` or, with `present`, where the
/// byte at that offset lacks `bit`.
private func gatherMeasurements<T: Numeric>(
    _ plan: [Int32], _ rows: [MeasurementColumns.Row], _ offset: Int, present: Int?, bit: UInt8, as: T.Type
) -> ([T], [Bool]) {
    var out = [T](repeating: 0, count: plan.count)
    var valid = [Bool](repeating: false, count: plan.count)
    let stride = MemoryLayout<MeasurementColumns.Row>.stride
    plan.withUnsafeBufferPointer { plan in
        rows.withUnsafeBytes { rows in
            out.withUnsafeMutableBufferPointer { out in
                valid.withUnsafeMutableBufferPointer { valid in
                    for row in plan.indices where plan[row] >= 0 {
                        let at = Int(plan[row]) &* stride
                        if let present, rows.load(fromByteOffset: at &+ present, as: UInt8.self) & bit == 0 { continue }
                        out[row] = rows.load(fromByteOffset: at &+ offset, as: T.self)
                        valid[row] = true
                    }
                }
            }
        }
    }
    return (out, valid)
}

/// The dictionary indices of a string column whose row `r` shows scope `plan[r]` (none when
/// negative), from the index of each scope's value (-1: null).
private func gatherIndices(_ plan: [Int32], _ scoped: UnsafeBufferPointer<Int32>) -> [Int32] {
    var out = [Int32](repeating: -1, count: plan.count)
    plan.withUnsafeBufferPointer { plan in
        out.withUnsafeMutableBufferPointer { out in
            for row in plan.indices where plan[row] >= 0 { out[row] = scoped[Int(plan[row])] }
        }
    }
    return out
}

/// Adds the fill of a dynamic (`in_`/`out_`) column of `type` whose row `r` shows
/// `cells[plan[r]]` (none when negative).
private func dynamic(
    _ c: Int, _ type: RunTable.ColumnType, _ cells: [JSONValue?], _ plan: [Int32], _ jobs: inout [(column: Int, fill: () -> Filled)]
) {
    switch type {
    case .double:
        jobs.append((c, {
            let (v, ok) = cells.map { $0?.doubleValue }.withUnsafeBufferPointer { gather(plan, $0, 0) }
            return .doubles(v, ok)
        }))
    case .bool:
        jobs.append((c, {
            let (v, ok) = cells.map { $0?.boolValue }.withUnsafeBufferPointer { gather(plan, $0, false) }
            return .bools(v, ok)
        }))
    default:
        jobs.append((c, {
            let scoped = DictionaryStrings(cells.map { $0.flatMap(RunTable.text) })
            return .strings(scoped.values, scoped.indices.withUnsafeBufferPointer { gatherIndices(plan, $0) })
        }))
    }
}

/// Optional strings in dictionary form: the distinct values (by UTF-8 bytes) and the index of
/// each string among them (-1 for nil).
private struct DictionaryStrings {
    var values: [String]
    var indices: [Int32]

    init(_ strings: [String?]) {
        var interned = InternedStrings()
        indices = strings.map { $0.map { interned.index(of: $0) } ?? -1 }
        values = interned.values
    }
}

/// Names seen in order, each with a slot number; a name at the same position as last time
/// (the parameters of consecutive vectors) is found without hashing.
private struct NameSlots {
    private(set) var names: [String] = []
    private var slots: [String: Int] = [:]
    private var recent: [(name: String, slot: Int)] = []

    /// The slot of `name` (the next free one when new), seen at `position` in its list.
    mutating func slot(_ name: String, position: Int) -> Int {
        if position < recent.count, recent[position].name == name { return recent[position].slot }
        let slot: Int
        if let known = slots[name] {
            slot = known
        } else {
            slot = names.count
            names.append(name)
            slots[name] = slot
        }
        while recent.count <= position { recent.append(("", -1)) }
        recent[position] = (name, slot)
        return slot
    }
}

/// Per scope (a step or a vector), the ranges of measurements in it, in the order added.
private struct RangeLists {
    private var first: [Int32]
    private var last: [Int32]
    private var ranges: [(range: Range<Int>, next: Int32)] = []

    init(scopes: Int) {
        first = Array(repeating: -1, count: scopes)
        last = Array(repeating: -1, count: scopes)
    }

    mutating func addScope() {
        first.append(-1)
        last.append(-1)
    }

    mutating func add(_ range: Range<Int>, to scope: Int) {
        let k = Int32(ranges.count)
        ranges.append((range, -1))
        if last[scope] >= 0 { ranges[Int(last[scope])].next = k } else { first[scope] = k }
        last[scope] = k
    }

    /// The ranges of `scope`, in the order added.
    func ranges(of scope: Int) -> some Sequence<Range<Int>> {
        sequence(state: first[scope]) { k -> Range<Int>? in
            guard k >= 0 else { return nil }
            defer { k = ranges[Int(k)].next }
            return ranges[Int(k)].range
        }
    }
}

/// The attempts (retry -> position) of each step, by step index and path.
private struct StepAttempts {
    // Hashes the step index only (hashing a String is slow; equality compares the path).
    private struct IndexPath: Hashable {
        var index: Int64
        var path: String

        func hash(into hasher: inout Hasher) { hasher.combine(index) }
    }
    private var byStep: [IndexPath: [(retry: Int64, position: Int)]] = [:]

    init(_ steps: [RunAccumulator.StepRecord]) {
        for (position, s) in steps.enumerated() { add(s.key, position: position) }
    }

    mutating func add(_ key: RunAccumulator.StepKey, position: Int) {
        byStep[IndexPath(index: key.index, path: key.path), default: []].append((key.retry, position))
    }

    func has(index: Int64, path: String) -> Bool { byStep[IndexPath(index: index, path: path)] != nil }

    /// The position of the attempt with `retry`, else of the latest attempt (of a step that has
    /// one).
    func owner(index: Int64, path: String, retry: Int64) -> Int {
        let attempts = byStep[IndexPath(index: index, path: path)]!
        if let same = attempts.first(where: { $0.retry == retry }) { return same.position }
        return attempts.max { $0.retry < $1.retry }!.position
    }
}

/// Calls `body` with each of a vector's parameters and its position among them:
/// vector.started's (`early`), then vector.ended's (`late`), so later values win.
private func forEachParam(_ early: [NamedValue]?, _ late: [NamedValue]?, _ body: (Int, NamedValue) -> Void) {
    let early = early ?? []
    for i in early.indices { body(i, early[i]) }
    guard let late else { return }
    for i in late.indices { body(early.count + i, late[i]) }
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
