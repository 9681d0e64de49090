with

campaigns as (

    select * from {{ ref('stg_email__campaigns') }}

),

events as (

    select * from {{ ref('stg_email__email_events') }}

),

per_campaign as (

    select
        campaign_id,
        sum(case when event_type = 'sent' then 1 else 0 end) as sent_count,
        sum(case when event_type = 'delivered' then 1 else 0 end) as delivered_count,
        sum(case when event_type = 'opened' then 1 else 0 end) as opened_count,
        sum(case when event_type = 'clicked' then 1 else 0 end) as clicked_count,
        sum(case when event_type = 'bounced' then 1 else 0 end) as bounced_count,
        sum(case when event_type = 'unsubscribed' then 1 else 0 end) as unsubscribed_count

    from events
    group by campaign_id

),

final as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.sent_at,
        coalesce(per_campaign.sent_count, 0) as sent_count,
        coalesce(per_campaign.delivered_count, 0) as delivered_count,
        coalesce(per_campaign.opened_count, 0) as opened_count,
        coalesce(per_campaign.clicked_count, 0) as clicked_count,
        coalesce(per_campaign.bounced_count, 0) as bounced_count,
        coalesce(per_campaign.unsubscribed_count, 0) as unsubscribed_count,
        round(cast(per_campaign.opened_count as decimal(18, 6)) / nullif(per_campaign.delivered_count, 0), 4)
            as open_rate,
        round(cast(per_campaign.clicked_count as decimal(18, 6)) / nullif(per_campaign.opened_count, 0), 4)
            as click_rate

    from campaigns
    left join per_campaign on campaigns.campaign_id = per_campaign.campaign_id

)

select * from final
