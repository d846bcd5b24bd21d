// HiSLIP message codec. STUB: being written.
public enum HiSLIPProtocol {}
