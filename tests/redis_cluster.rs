//! The bus on a Redis Cluster that loses a master mid-conversation: its
//! replica takes over, and nothing acknowledged is lost, because gap
//! repair by seq covers the window. (The fan-out, ordering, presence and
//! catch-up tests run on a Redis Cluster too: tests/realtime.rs.)

mod support;

use std::time::Duration;

use serde_json::json;
use support::cluster::on_redis_cluster;
use support::sio::SioClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_killed_mid_conversation_loses_nothing_acknowledged() {
    let Some(mut cluster) = on_redis_cluster().await else {
        return;
    };
    let app = &cluster.app;
    let ana = app.user("ana@example.com", "Ana").await;
    let ben = app.user("ben@example.com", "Ben").await;
    let (status, room) = app
        .post_json("/chat/rooms", &json!({"name": "Sharded"}), Some(&ana.token))
        .await;
    assert_eq!(status, 201, "{room}");
    let room_id = room["id"].as_i64().unwrap();
    let mut sender = SioClient::connect(&cluster.gateways[0], Some(&ana.token))
        .await
        .unwrap();
    let mut far = SioClient::connect(&cluster.gateways[1], Some(&ben.token))
        .await
        .unwrap();
    for client in [&mut sender, &mut far] {
        assert_eq!(
            client.emit_ack("join_room", json!({"room_id": room_id})).await["ok"],
            true
        );
    }

    let mut sent = 0;
    let mut send = async |client: &mut SioClient, n: usize| {
        for _ in 0..n {
            sent += 1;
            let ack = client
                .emit_ack(
                    "send_message",
                    json!({"room_id": room_id, "content": format!("m{sent}")}),
                )
                .await;
            assert_eq!(ack["ok"], true, "every send is acknowledged: {ack}");
        }
    };
    send(&mut sender, 10).await;

    // Kill the master that owns the room's channel.
    let prefix = &app.settings.shared.backplane.prefix;
    let redis = cluster.redis.as_mut().expect("a Redis Cluster");
    let master = redis.master_of(&format!("{prefix}room.{room_id}")).await;
    assert!(
        redis
            .shard_subscribers(master, &format!("{prefix}room.{room_id}"))
            .await
            >= 2,
        "sharded subscriptions on the owning master"
    );
    redis.kill(master).await;
    send(&mut sender, 10).await;
    let channel = format!("{prefix}room.{room_id}");
    let promoted = redis.wait_failover(&channel, master).await;
    // Both gateways re-subscribed on the promoted master by themselves.
    let mut following = 0;
    for _ in 0..200 {
        following = redis.shard_subscribers(promoted, &channel).await;
        if following >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        following >= 2,
        "both gateways follow the room on the new master ({following})"
    );
    send(&mut sender, 10).await;

    for client in [&mut sender, &mut far] {
        let seqs = client.message_seqs(30).await;
        assert_eq!(seqs, (1..=30).collect::<Vec<i64>>(), "every message once, in order");
    }
    assert_eq!(app.count("messaging", "messages").await, 30);

    // Live traffic flows through the promoted master again: a new
    // message arrives without waiting for a repair.
    send(&mut sender, 1).await;
    assert_eq!(far.expect("new_message").await["seq"], 31);

    sender.close().await;
    far.close().await;
    cluster.stop().await;
}
