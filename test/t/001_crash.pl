# Crash safety: an immediate shutdown (no checkpoint, crash recovery at the
# next start), pg_terminate_backend and statement_timeout in the middle of
# long calls leave no trace of the call: no users, no invite changes, no
# events, nothing a subscriber wrote, and every btree index checks out with
# amcheck. What had committed before the crash is all there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use UserModuleNode;
use Time::HiRes qw(usleep);

my $secret = new_secret();

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
preload_user_module($node, $secret);
$node->start;
$node->safe_psql('postgres', 'CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA extensions; CREATE EXTENSION user_module; CREATE EXTENSION amcheck');

if ($ENV{UM_PGROOT})
{
	like($node->safe_psql('postgres', "SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'"),
		qr/^\Q$ENV{UM_PGROOT}\E/, 'the node runs the private build of the extension');
}

# A subscriber to every event: what it writes commits or vanishes with the call.
$node->safe_psql('postgres', q{
CREATE TABLE public.heard (event_id bigint PRIMARY KEY, name text NOT NULL);
CREATE FUNCTION public.hear(event user_module.event) RETURNS void
LANGUAGE sql AS $$ INSERT INTO public.heard VALUES (event.id, event.name) $$;
SELECT FROM user_module.add_subscriber('public.hear(user_module.event)');
});

# Everything a call could leave behind: every row of the three tables, and
# what the subscriber wrote.
my $state_sql = q{
SELECT (SELECT count(*) || ':' || coalesce(md5(string_agg(u::text, ',' ORDER BY id)), '') FROM user_module."user" u)
  || ' ' || (SELECT count(*) || ':' || coalesce(md5(string_agg(i::text, ',' ORDER BY id)), '') FROM user_module.invite i)
  || ' ' || (SELECT count(*) || ':' || coalesce(max(id), 0) FROM user_module.event)
  || ' ' || (SELECT count(*) || ':' || coalesce(max(event_id), 0) FROM public.heard)};
sub state { return $node->safe_psql('postgres', $state_sql); }

# amcheck on every btree index of the schema (heapallindexed: every heap
# tuple has its index entry); gin indexes are only checked for validity.
sub check_indexes
{
	my ($what) = @_;
	my @btree = split /\n/, $node->safe_psql('postgres', q{
		SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am a ON a.oid = c.relam
		WHERE c.relnamespace = 'user_module'::regnamespace AND a.amname = 'btree'});
	my $sql = join '', map { "SELECT bt_index_check($_, true);\n" } @btree;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 1);
	ok($ret == 0 && @btree >= 10, "$what: amcheck finds all " . scalar(@btree) . ' btree indexes sound')
	  or diag($err);
	is($node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relnamespace = 'user_module'::regnamespace AND NOT (i.indisvalid AND i.indisready)}),
		'0', "$what: every index (gin included) is valid and ready");
}

# A long call in its own psql process; returns once its backend is active
# and has been running for a while.
sub start_long
{
	my ($sql, $marker) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-c', $sql ],
		'>', \$out, '2>', \$err);
	$node->poll_query_until('postgres', qq{
		SELECT count(*) > 0 FROM pg_stat_activity
		WHERE state = 'active' AND query LIKE '%$marker%' AND pid <> pg_backend_pid()})
	  or die "the long call never started";
	usleep(1_000_000);
	return ($h, \$out, \$err);
}

my $gen_users = sub {
	my ($prefix, $n) = @_;
	return "SELECT count(*) FROM user_module.create_users((SELECT jsonb_agg(jsonb_build_object('email', '$prefix' || g || '\@example.com')) FROM generate_series(1, $n) g))";
};

# committed before anything happens
$node->safe_psql('postgres', $gen_users->('base', 3));
$node->safe_psql('postgres', "SELECT count(*) FROM user_module.create_invites((SELECT jsonb_agg(jsonb_build_object('email', 'inv' || g || '\@example.com')) FROM generate_series(1, 80000) g))");
my $inv = $node->safe_psql('postgres', "SELECT id || ' ' || token FROM user_module.create_invite('accept\@example.com')");
my ($inv_id, $inv_token) = split / /, $inv;
my $inv2_token = $node->safe_psql('postgres', "SELECT token FROM user_module.create_invite('accept2\@example.com')");

# (a) create_users of 200,000 users in one call, immediate shutdown mid-call
my $before = state();
my ($h, $out, $err) = start_long($gen_users->('big', 200000), 'big');
ok($h->pumpable, 'create_users of 200,000 users is still running');
$node->stop('immediate');
ok(!$h->finish, 'the create_users call was cut off by the crash');
$node->start;
is(state(), $before, 'after crash recovery: no user and no event of the interrupted create_users');
check_indexes('after the create_users crash');

# a call that committed just before the crash is there in full
$node->safe_psql('postgres', $gen_users->('done', 1000));
my $committed = state();
$node->stop('immediate');
$node->start;
is(state(), $committed, 'a create_users that committed before the crash is all there');
is($node->safe_psql('postgres', "SELECT user_module.count_users('{\"q\": \"done\"}')"), '1000',
	'its 1,000 users are there');

# (b) refresh_invite_tokens of 80,000 ids, immediate shutdown mid-call
$before = state();
($h, $out, $err) = start_long(
	"SELECT count(*) FROM user_module.refresh_invite_tokens((SELECT array_agg(id) FROM user_module.invite WHERE email LIKE 'inv%'))",
	'refresh_invite_tokens');
ok($h->pumpable, 'refresh_invite_tokens of 80,000 ids is still running');
$node->stop('immediate');
ok(!$h->finish, 'the refresh_invite_tokens call was cut off by the crash');
$node->start;
is(state(), $before, 'after crash recovery: no invite changed and no invite.resent event');
check_indexes('after the refresh crash');

# (c) accept_invite inside an open transaction, crash before COMMIT
my $bg = $node->background_psql('postgres', on_error_stop => 1);
$bg->query_safe('BEGIN');
like($bg->query_safe("SELECT email FROM user_module.accept_invite('$inv_token', 'Ann')"),
	qr/^accept\@example\.com$/m, 'accept_invite succeeded inside the open transaction');
$node->stop('immediate');
eval { $bg->quit };
$node->start;
is(state(), $before, 'after crash recovery: the uncommitted accept left no user, no invite change, no event');
is($node->safe_psql('postgres', "SELECT accepted || ' ' || (deleted_at IS NULL) FROM user_module.retrieve_invite('$inv_id')"),
	'false true', 'the invite is neither accepted nor deleted');
is($node->safe_psql('postgres', "SELECT id FROM user_module.validate_invite_token('$inv_token')"),
	$inv_id, 'its token still validates and can be used again');

# an accept that committed just before the crash is there in full
my $max_event = $node->safe_psql('postgres', 'SELECT max(id) FROM user_module.event');
$node->safe_psql('postgres', "BEGIN; SELECT user_module.accept_invite('$inv2_token', 'Bob'); COMMIT;");
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', "SELECT count(*) FROM user_module.list_users('{\"email\": \"accept2\@example.com\"}')"),
	'1', 'a committed accept: the user is there after the crash');
is($node->safe_psql('postgres', "SELECT string_agg(name, ',' ORDER BY name) FROM user_module.event WHERE id > $max_event"),
	'invite.accepted,user.created', 'a committed accept: its events are there after the crash');
is($node->safe_psql('postgres', "SELECT string_agg(name, ',' ORDER BY name) FROM public.heard WHERE event_id > $max_event"),
	'invite.accepted,user.created', 'a committed accept: what the subscriber wrote for its events is there after the crash');
my ($ret, $o, $e) = $node->psql('postgres', "SELECT user_module.validate_invite_token('$inv2_token')");
like($e, qr/already been accepted|accepted/i, 'a committed accept: its token now reports the invite accepted');
check_indexes('after the accept crashes');

# pg_terminate_backend of a backend in the middle of a long create_users
$before = state();
($h, $out, $err) = start_long($gen_users->('term', 200000), 'term');
is($node->safe_psql('postgres', q{
	SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE state = 'active' AND query LIKE '%term%' AND pid <> pg_backend_pid()}), '1',
	'the backend running create_users is terminated');
ok(!$h->finish, 'the terminated create_users failed');
like($$err, qr/terminating connection due to administrator command/, 'the client was told why');
is(state(), $before, 'the terminated create_users left no user and no event');
is($node->safe_psql('postgres', "SELECT email FROM user_module.create_user('after.term\@example.com')"),
	'after.term@example.com', 'the next create_user in a new session works');

# statement_timeout hitting a long call
$before = state();
($ret, $o, $e) = $node->psql('postgres',
	"SET statement_timeout = '1s';\n" . $gen_users->('timeout', 200000) . ";\n\\echo :LAST_ERROR_SQLSTATE",
	on_error_stop => 0);
is($o, '57014', 'create_users of 200,000 users is cancelled by statement_timeout (57014)');
is(state(), $before, 'the cancelled create_users left no user and no event');
is($node->safe_psql('postgres', "SELECT email FROM user_module.create_user('after.timeout\@example.com')"),
	'after.timeout@example.com', 'the next create_user in a new session works');
check_indexes('at the end');

$node->stop;
unlike(slurp_file($node->logfile), qr/\Q$secret\E/, 'the key never reached the server log');
done_testing();
