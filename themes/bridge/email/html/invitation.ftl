<#ftl output_format="plainText">
<#-- What the bridge stored on the invitee when it invited (bridge/invitations): who invites,
     to which tenant or perimeter, until when (UTC). No secret is ever among them. -->
<#assign attributes = (user.attributes)!{}>
<#assign isInvitation = attributes["invitation.sentAt"]?? && attributes["invitation.expiresAt"]??>
<#assign inviter = attributes["invitation.inviterName"]!(attributes["invitation.invitedBy"]!"")>
<#assign scope = attributes["invitation.scope"]!"">
<#assign scopeText = scope?has_content?then(msg("invitationScope", scope), "")>
<#assign expiresAt = "">
<#if isInvitation>
  <#attempt>
    <#setting time_zone="UTC">
    <#setting locale=locale.toString()>
    <#assign expiresAt = attributes["invitation.expiresAt"]?datetime.iso?string("d MMMM yyyy, HH:mm 'UTC'")>
  <#recover>
    <#assign expiresAt = attributes["invitation.expiresAt"]>
  </#attempt>
</#if>
