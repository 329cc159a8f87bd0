# Read scaling: a streaming hot standby with the same key serves every read
# function, including tokens and their validation and list_subscribers, and
# refuses every write (add_subscriber and remove_subscriber too) with
# SQLSTATE 25006 (read-only transaction).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use UserModuleNode;

my $secret = new_secret();

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
preload_user_module($primary, $secret);
$primary->start;
$primary->safe_psql('postgres', 'CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module');
$primary->safe_psql('postgres', "SELECT user_module.create_user('before.backup\@example.com', 'Early')");

# the standby's postgresql.conf comes from the backup: same library, same key
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# written on the primary after the standby started: reaches it by streaming
my $user_id = $primary->safe_psql('postgres',
	"SELECT id FROM user_module.create_user('ada\@example.com', 'Ada', 'Lovelace', metadata => '{\"team\": \"core\"}')");
$primary->safe_psql('postgres', "SELECT count(*) FROM user_module.create_users('[{\"email\": \"grace\@example.com\", \"first_name\": \"Grace\"}, {\"email\": \"alan\@example.com\", \"first_name\": \"Alan\"}]')");
my ($invite_id, $token) = split / /, $primary->safe_psql('postgres',
	"SELECT id || ' ' || token FROM user_module.create_invite('new.hire\@example.com', '{\"role\": \"admin\"}')");
$primary->safe_psql('postgres', "SELECT count(*) FROM user_module.create_invites('[{\"email\": \"a\@example.org\"}, {\"email\": \"b\@example.org\"}]')");
my $accept_token = $primary->safe_psql('postgres', "SELECT token FROM user_module.create_invite('standby.accept\@example.com')");
# a subscriber registered on the primary: its row streams to the standby like any other
$primary->safe_psql('postgres', q{
CREATE TABLE public.accepted_log (event_id bigint, invite_id text);
CREATE FUNCTION public.log_accepted(event user_module.event) RETURNS void
LANGUAGE sql AS $$ INSERT INTO public.accepted_log VALUES (event.id, event.entity_id) $$;
SELECT FROM user_module.add_subscriber('public.log_accepted(user_module.event)', ARRAY['invite.accepted']);
});
$primary->wait_for_catchup($standby);

# the same answer on both nodes
for my $q (
	[ "SELECT * FROM user_module.retrieve_user('$user_id')", 'retrieve_user' ],
	[ "SELECT * FROM user_module.list_users()", 'list_users' ],
	[ "SELECT * FROM user_module.list_users('{\"q\": \"ada\"}')", 'list_users with q (gin index)' ],
	[ "SELECT user_module.count_users()", 'count_users' ],
	[ "SELECT * FROM user_module.retrieve_invite('$invite_id')", 'retrieve_invite (token included)' ],
	[ "SELECT * FROM user_module.list_invites()", 'list_invites (tokens included)' ],
	[ "SELECT user_module.count_invites()", 'count_invites' ],
	[ "SELECT * FROM user_module.validate_invite_token('$token')", 'validate_invite_token' ],
	[ "SELECT * FROM user_module.list_subscribers()", 'list_subscribers' ])
{
	my ($sql, $name) = @$q;
	my $p = $primary->safe_psql('postgres', $sql);
	my $s = $standby->safe_psql('postgres', $sql);
	ok($s ne '', "standby: $name answers");
	is($s, $p, "standby: $name gives the primary's answer");
}
is($standby->safe_psql('postgres', 'SELECT user_module.count_users()'), '4', 'standby: the four users are there');
is($standby->safe_psql('postgres', "SELECT id FROM user_module.validate_invite_token('$token')"),
	$invite_id, 'standby: the token read on the primary validates on the standby');
is($standby->safe_psql('postgres', "SELECT token FROM user_module.list_invites('{\"email\": \"new.hire\@example.com\"}')"),
	$token, "standby: list_invites returns the primary's token");
my ($ret, $o, $e) = $standby->psql('postgres',
	"SELECT user_module.validate_invite_token('$token' || 'x');\n\\echo :LAST_ERROR_SQLSTATE", on_error_stop => 0);
is($o, '22U01', 'standby: a tampered token is invalid (22U01)');

# every write is refused as on any hot standby
for my $q (
	[ "SELECT user_module.create_user('w\@example.com')", 'create_user' ],
	[ "SELECT * FROM user_module.create_users('[{\"email\": \"w2\@example.com\"}]')", 'create_users' ],
	[ "SELECT * FROM user_module.update_user('$user_id', '{\"first_name\": \"X\"}')", 'update_user' ],
	[ "SELECT * FROM user_module.claim_events()", 'claim_events' ],
	[ "SELECT * FROM user_module.refresh_invite_tokens(ARRAY['$invite_id'])", 'refresh_invite_tokens' ],
	[ "SELECT * FROM user_module.accept_invite('$accept_token', 'Sam')", 'accept_invite' ],
	[ "SELECT * FROM user_module.create_invite('w3\@example.com')", 'create_invite' ],
	[ "SELECT * FROM user_module.soft_delete_users(ARRAY['$user_id'])", 'soft_delete_users' ],
	[ "SELECT * FROM user_module.add_subscriber('public.log_accepted(user_module.event)')", 'add_subscriber' ],
	[ "SELECT user_module.remove_subscriber('public.log_accepted(user_module.event)')", 'remove_subscriber' ])
{
	my ($sql, $name) = @$q;
	($ret, $o, $e) = $standby->psql('postgres', "$sql;\n\\echo :LAST_ERROR_SQLSTATE", on_error_stop => 0);
	is($o, '25006', "standby: $name fails with 25006 (read-only transaction)") or diag($e);
	like($e, qr/HINT:  This server is a hot standby: send writes to the primary\./,
		"standby: $name says to send writes to the primary");
	unlike($e, qr/SQL statement/, "standby: $name shows no internal statement");
}

# nothing was written anywhere; the primary still takes the writes
is($standby->safe_psql('postgres', 'SELECT user_module.count_users()'), '4', 'standby: no user was added');
is($primary->safe_psql('postgres', "SELECT email FROM user_module.accept_invite('$accept_token', 'Sam')"),
	'standby.accept@example.com', 'the primary accepts the invite the standby refused');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', "SELECT count(*) FROM user_module.list_users('{\"email\": \"standby.accept\@example.com\"}')"),
	'1', 'standby: the accepted invite\'s user arrives by streaming');
is($standby->safe_psql('postgres', "SELECT count(*) || ' ' || string_agg(handler || ' ' || events::text, ',') FROM user_module.list_subscribers()"),
	'1 public.log_accepted(user_module.event) {invite.accepted}', 'standby: the subscriber is still the one registered on the primary');
is($standby->safe_psql('postgres', "SELECT count(*) FROM public.accepted_log l JOIN user_module.event e ON e.id = l.event_id AND e.name = 'invite.accepted'"),
	'1', 'standby: what the subscriber wrote on the primary for the accept arrives by streaming');

$standby->stop;
$primary->stop;
unlike(slurp_file($primary->logfile) . slurp_file($standby->logfile), qr/\Q$secret\E/,
	'the key never reached either server log');
done_testing();
