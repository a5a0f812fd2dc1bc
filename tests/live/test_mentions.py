"""Numbers heard in live speech matched to the caller's own orders."""

from callcenter.live.mentions import match, spoken_numbers

ORDERS = [("7", "10000231", "SF1234567890"), ("8", "10000232", "")]


def test_given_figures_or_words_then_the_same_number_is_heard() -> None:
    assert spoken_numbers("my order is 10000231 thanks") == ["10000231"]
    assert spoken_numbers("it's one oh oh oh oh two three one") == ["10000231"]
    assert spoken_numbers("1000 0231, please") == ["10000231"]
    assert spoken_numbers("one double oh zero zero two three one") == ["10000231"]
    assert spoken_numbers("订单号一零零零零二三一") == ["10000231"]


def test_given_short_numbers_then_nothing_is_heard() -> None:
    assert spoken_numbers("I waited 3 days for 2 parcels") == []


def test_given_the_callers_order_number_then_it_is_matched() -> None:
    found = match("the order number is one zero zero zero zero two three two", ORDERS)
    assert [(m.kind, m.number, m.ref) for m in found] == [("order", "10000232", "8")]


def test_given_a_tracking_number_then_its_order_is_matched() -> None:
    found = match("tracking is SF 1234567890", ORDERS)
    assert [(m.kind, m.ref) for m in found] == [("tracking", "7")]


def test_given_someone_elses_number_then_nothing_is_matched() -> None:
    assert match("order 99999999", ORDERS) == []
    assert match("my card is 4111 1111 1111 1111", ORDERS) == []
