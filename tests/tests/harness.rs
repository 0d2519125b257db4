//! The harness itself against the real broker: the shared test broker is reachable, and a broker
//! of the test's own starts, restarts on the same port and is gone once dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::time::Duration;

use truthound_tests::{SpawnedBroker, broker_address};

fn connects(address: &str) -> bool {
    let address = address.parse().expect("a socket address");
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
}

#[test]
fn the_shared_test_broker_accepts_connections() {
    let address = broker_address();
    assert!(
        connects(&address),
        "nothing accepts connections at TRUTHOUND_TEST_BROKER={address}"
    );
}

#[test]
fn a_spawned_broker_restarts_on_the_same_port_and_stops_on_drop() {
    let mut broker = SpawnedBroker::sqlite();
    let address = broker.address();
    assert!(broker.storage_engine().starts_with("sqlite:///"));
    assert!(broker.is_running());
    assert!(
        connects(&address),
        "the spawned broker does not accept connections"
    );

    broker.restart();
    assert_eq!(broker.address(), address, "a restart keeps the port");
    assert!(broker.is_running());
    assert!(
        connects(&address),
        "the restarted broker does not accept connections"
    );

    broker.kill();
    assert!(!broker.is_running());
    broker.restart();
    assert!(
        connects(&address),
        "the broker does not come back after a kill"
    );

    drop(broker);
    assert!(
        !connects(&address),
        "the port still accepts connections after the broker was dropped"
    );
}
