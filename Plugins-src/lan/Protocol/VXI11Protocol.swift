// VXI-11 / ONC RPC / XDR codecs. STUB: being written.
public enum VXI11Protocol {}
