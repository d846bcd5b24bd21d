// USBTMC / USB488 message codec and state machine. STUB: being written.
public enum USBTMCProtocol {}
