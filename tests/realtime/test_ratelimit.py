from chatserver.realtime.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate():
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.retry_after(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.retry_after(1)
    assert wait == 0.5
    clock.now += 0.5
    assert limiter.retry_after(1) == 0.0


def test_users_have_separate_buckets():
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    assert limiter.retry_after(1) == 0.0
    assert limiter.retry_after(1) > 0
    assert limiter.retry_after(2) == 0.0


def test_zero_rate_disables_the_limit():
    limiter = RateLimiter(rate=0, burst=1, clock=Clock())
    assert all(limiter.retry_after(1) == 0.0 for _ in range(100))
