import LitmusDriverKit

/// The devices a `SIM::` session uses when no `description` option is given: a DMM and a
/// power supply, written in the device-description format and parsed by the same code as
/// user files.
enum BuiltinDevices {
    static let source = "<built-in devices>"

    static let yaml = #"""
        devices:
          dmm:
            identity: "Litmus,SIM-DMM,SIM0001,1.0"
            eom: "\n"
            dialogues:
              - {q: "MEASure:VOLTage:DC?", r: "5.0012"}
              - {q: "MEASure:CURRent:DC?", r: "0.1234"}
              - {q: "MEASure:RESistance?", r: "1000.5"}
              - {q: "FETCh:ARRay?", r: "1.5,2.5,3.5"}
              - {q: "CURVe?", block: {length: 1000, pattern: ramp}}
            properties:
              function:
                default: DCV
                type: string
                values: [DCV, ACV, RES]
                getter: "FUNCtion?"
                setter: "FUNCtion {value}"
          psu:
            identity: "Litmus,SIM-PSU,SIM0002,1.0"
            eom: "\n"
            properties:
              voltage:
                default: 0.0
                type: float
                min: 0
                max: 30
                getter: ["VOLTage?", "MEASure:VOLTage?"]
                setter: "VOLTage {value}"
              current:
                default: 0.0
                type: float
                min: 0
                max: 5
                getter: ["CURRent?", "MEASure:CURRent?"]
                setter: "CURRent {value}"
              output:
                default: "OFF"
                type: string
                values: ["ON", "OFF", "1", "0"]
                getter: "OUTPut?"
                setter: "OUTPut {value}"
        """#

    /// The parsed devices, or the parse error (reported at open, never a crash).
    static let devices = Result { try SimDeviceParser(source: source).parse(yaml) }
}
