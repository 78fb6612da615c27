"""frugal's exceptions: one root; user mistakes are ValueError/TypeError naming the argument."""


class FrugalError(Exception):
    """Root of frugal's own errors (misuse of a result, an unusable store...)."""


def raised_by_signal_handler(exc: BaseException) -> bool:
    """True when ``exc`` was raised by a Python signal handler (its frame is in the traceback).

    Such an exception belongs to the measured program, wherever it happened to land: frugal
    lets it through even when it interrupted frugal's own code, where a failure of frugal's
    probes would be caught and reported instead.
    """
    import signal

    codes = set()
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        code = getattr(handler, "__code__", None) or getattr(getattr(handler, "__func__", None), "__code__", None)
        if code is not None:
            codes.add(code)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return True
        tb = tb.tb_next
    return False
